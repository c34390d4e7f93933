package k2.spark;

import java.util.ArrayList;
import java.util.List;

/** Splits a SQL script on ';' outside '…', "…", `…`, -- line comments and block comments. */
final class Statements {
  private Statements() {}

  static List<String> split(String sql) {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    int n = sql.length();
    for (int i = 0; i < n; i++) {
      char c = sql.charAt(i);
      if (c == '\'' || c == '"' || c == '`') {
        int j = i + 1;
        while (j < n && sql.charAt(j) != c) j += sql.charAt(j) == '\\' ? 2 : 1;
        cur.append(sql, i, Math.min(j + 1, n));
        i = j;
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        int j = sql.indexOf('\n', i);
        i = j < 0 ? n : j;
        cur.append('\n');
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        int j = sql.indexOf("*/", i + 2);
        i = j < 0 ? n : j + 1;
        cur.append(' ');
      } else if (c == ';') {
        add(out, cur);
      } else {
        cur.append(c);
      }
    }
    add(out, cur);
    return out;
  }

  private static void add(List<String> out, StringBuilder cur) {
    String s = cur.toString().strip();
    if (!s.isEmpty()) out.add(s);
    cur.setLength(0);
  }
}
