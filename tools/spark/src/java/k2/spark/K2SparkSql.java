package k2.spark;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * K2's SQL driver for Spark in local mode: what spark-sql does for K2's tables, without Hive. The session's settings
 * (master, the Iceberg catalog, the warehouse's FileIO) arrive as {@code spark.*} system properties from spark.sh,
 * which SparkConf reads by default.
 *
 * <ul>
 *   <li>{@code -e SQL} / {@code -f FILE}: run the statements (split on ';' outside quotes and comments), print each
 *       query's rows tab-separated, as spark-sql does; {@code --header} adds the column names, {@code --json} prints
 *       one JSON object per row instead.</li>
 *   <li>{@code --serve}: one statement per stdin line, one JSON answer per stdout line
 *       ({@code {"ok":true,"columns":[…],"rows":[[…]],"ms":n}} or {@code {"ok":false,"error":"…"}}), so a test suite
 *       pays for one JVM, not one per query.</li>
 * </ul>
 * Every value is rendered as text: decimals with {@link BigDecimal#toPlainString()} (exact, no exponent), timestamps as
 * ISO-8601 instants (java8API), arrays/maps/structs as JSON.
 */
public final class K2SparkSql {
  private K2SparkSql() {}

  public static void main(String[] args) throws Exception {
    String sql = null;
    boolean serve = false;
    boolean json = false;
    boolean header = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "-e" -> sql = need(args, ++i, "-e");
        case "-f" -> sql = Files.readString(Path.of(need(args, ++i, "-f")), StandardCharsets.UTF_8);
        case "--serve" -> serve = true;
        case "--json" -> json = true;
        case "--header" -> header = true;
        default -> {
          System.err.println("k2-spark-sql: unknown argument " + args[i] + " (see npm run spark -- --help)");
          System.exit(2);
        }
      }
    }
    if (sql == null && !serve) {
      System.err.println("k2-spark-sql: give -e SQL, -f FILE or --serve (see npm run spark -- --help)");
      System.exit(2);
    }
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    SparkSession spark = SparkSession.builder().appName("k2-spark-sql").getOrCreate();
    int rc = 0;
    try {
      if (serve) {
        serve(spark, out);
      } else {
        rc = runScript(spark, sql, out, json, header);
      }
    } finally {
      spark.stop();
    }
    System.exit(rc);
  }

  private static String need(String[] args, int i, String flag) {
    if (i >= args.length) {
      System.err.println("k2-spark-sql: " + flag + " needs a value");
      System.exit(2);
    }
    return args[i];
  }

  private static int runScript(SparkSession spark, String sql, PrintStream out, boolean json, boolean header) {
    for (String stmt : Statements.split(sql)) {
      try {
        Dataset<Row> df = spark.sql(stmt);
        StructType schema = df.schema();
        List<Row> rows = df.collectAsList();
        if (schema.isEmpty()) continue;
        if (header && !json) out.println(String.join("\t", schema.fieldNames()));
        for (Row r : rows) out.println(json ? jsonObject(schema, r) : tabbed(schema, r));
      } catch (Exception e) {
        System.err.println("Error in statement: " + firstLine(stmt) + "\n" + message(e));
        return 1;
      }
    }
    return 0;
  }

  private static void serve(SparkSession spark, PrintStream out) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    out.println("{\"ready\":true,\"spark\":" + Json.quote(spark.version()) + "}");
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      long t0 = System.nanoTime();
      try {
        Dataset<Row> df = spark.sql(line);
        StructType schema = df.schema();
        List<Row> rows = df.collectAsList();
        StringBuilder b = new StringBuilder("{\"ok\":true,\"columns\":[");
        StructField[] fields = schema.fields();
        for (int i = 0; i < fields.length; i++) b.append(i > 0 ? "," : "").append(Json.quote(fields[i].name()));
        b.append("],\"rows\":[");
        for (int r = 0; r < rows.size(); r++) b.append(r > 0 ? "," : "").append(jsonArray(schema, rows.get(r)));
        b.append("],\"ms\":").append((System.nanoTime() - t0) / 1_000_000).append('}');
        out.println(b);
      } catch (Exception e) {
        out.println("{\"ok\":false,\"error\":" + Json.quote(message(e)) + "}");
      }
    }
  }

  private static String firstLine(String s) {
    String t = s.strip();
    int nl = t.indexOf('\n');
    return nl < 0 ? t : t.substring(0, nl) + " …";
  }

  private static String message(Throwable e) {
    String m = e.getMessage();
    return e.getClass().getSimpleName() + ": " + (m == null ? "" : m);
  }

  private static String tabbed(StructType schema, Row r) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < r.size(); i++) {
      if (i > 0) b.append('\t');
      Object v = r.isNullAt(i) ? null : value(schema.fields()[i].dataType(), r.get(i));
      b.append(v == null ? "NULL" : v instanceof String s ? s : Json.render(v));
    }
    return b.toString();
  }

  private static String jsonObject(StructType schema, Row r) {
    StringBuilder b = new StringBuilder("{");
    StructField[] fields = schema.fields();
    for (int i = 0; i < fields.length; i++) {
      b.append(i > 0 ? "," : "").append(Json.quote(fields[i].name())).append(':');
      b.append(Json.render(r.isNullAt(i) ? null : value(fields[i].dataType(), r.get(i))));
    }
    return b.append('}').toString();
  }

  private static String jsonArray(StructType schema, Row r) {
    StringBuilder b = new StringBuilder("[");
    StructField[] fields = schema.fields();
    for (int i = 0; i < fields.length; i++) {
      b.append(i > 0 ? "," : "").append(Json.render(r.isNullAt(i) ? null : value(fields[i].dataType(), r.get(i))));
    }
    return b.append(']').toString();
  }

  /** A Spark value as a String (scalars), List (arrays), Map (maps, structs) or null. */
  static Object value(DataType type, Object v) {
    if (v == null) return null;
    if (v instanceof BigDecimal d) return d.toPlainString();
    if (type instanceof ArrayType at) {
      List<Object> out = new ArrayList<>();
      scala.collection.Iterator<?> it = ((scala.collection.Iterable<?>) v).iterator();
      while (it.hasNext()) out.add(value(at.elementType(), it.next()));
      return out;
    }
    if (type instanceof MapType mt) {
      Map<String, Object> out = new java.util.LinkedHashMap<>();
      scala.collection.Iterator<? extends scala.Tuple2<?, ?>> it = ((scala.collection.Map<?, ?>) v).iterator();
      while (it.hasNext()) {
        scala.Tuple2<?, ?> e = it.next();
        out.put(String.valueOf(value(mt.keyType(), e._1())), value(mt.valueType(), e._2()));
      }
      return out;
    }
    if (type instanceof StructType st) {
      Row row = (Row) v;
      Map<String, Object> out = new java.util.LinkedHashMap<>();
      for (int i = 0; i < st.fields().length; i++) out.put(st.fields()[i].name(), row.isNullAt(i) ? null : value(st.fields()[i].dataType(), row.get(i)));
      return out;
    }
    if (v instanceof byte[] bytes) return java.util.HexFormat.of().formatHex(bytes);
    return String.valueOf(v);
  }
}
