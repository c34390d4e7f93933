package k2.spark;

import java.util.List;
import java.util.Map;

/** The little JSON the driver prints: strings, null, lists and maps of those (RFC 8259 section 7 escaping). */
final class Json {
  private Json() {}

  static String render(Object v) {
    if (v == null) return "null";
    if (v instanceof List<?> l) {
      StringBuilder b = new StringBuilder("[");
      for (int i = 0; i < l.size(); i++) b.append(i > 0 ? "," : "").append(render(l.get(i)));
      return b.append(']').toString();
    }
    if (v instanceof Map<?, ?> m) {
      StringBuilder b = new StringBuilder("{");
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        b.append(first ? "" : ",").append(quote(String.valueOf(e.getKey()))).append(':').append(render(e.getValue()));
        first = false;
      }
      return b.append('}').toString();
    }
    return quote(String.valueOf(v));
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.append('"').toString();
  }
}
