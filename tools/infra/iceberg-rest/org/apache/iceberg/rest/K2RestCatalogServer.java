/*
 * Loopback-bound launcher for Apache Iceberg's REST catalog test fixture.
 *
 * Upstream org.apache.iceberg.rest.RESTCatalogServer (shipped in the
 * iceberg-open-api jar) always binds 0.0.0.0 and sets SO_REUSEPORT, so a
 * second instance would silently share the port. This class reuses the same
 * building blocks (CATALOG_* environment parsing, RESTServerCatalogAdapter,
 * RESTCatalogServlet) but binds an explicit host (default 127.0.0.1) without
 * SO_REUSEPORT. It lives in the same package because those building blocks
 * are package-private.
 *
 * Configuration (same as upstream): every CATALOG_* environment variable
 * becomes a catalog property ("__" -> "-", "_" -> ".", lower-cased), e.g.
 *   CATALOG_URI=jdbc:sqlite:file:/path/catalog.db  -> uri
 *   CATALOG_WAREHOUSE=file:///path/warehouse         -> warehouse
 *   CATALOG_REST_PORT=8181                           -> rest.port
 *   CATALOG_REST_HOST=127.0.0.1                      -> rest.host (K2 addition)
 */
package org.apache.iceberg.rest;

import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.jdbc.JdbcCatalog;
import org.apache.iceberg.relocated.com.google.common.collect.Maps;
import org.apache.iceberg.util.PropertyUtil;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.gzip.GzipHandler;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class K2RestCatalogServer {
  private static final Logger LOG = LoggerFactory.getLogger(K2RestCatalogServer.class);
  static final String REST_HOST = "rest.host";

  private K2RestCatalogServer() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> config = Maps.newHashMap(RCKUtils.environmentCatalogConfig());
    config.putIfAbsent("catalog-impl", JdbcCatalog.class.getName());
    config.putIfAbsent("uri", "jdbc:sqlite::memory:");
    config.putIfAbsent("jdbc.schema-version", "V1");
    if (config.get("warehouse") == null) {
      throw new IllegalArgumentException("CATALOG_WAREHOUSE must be set");
    }

    String host = PropertyUtil.propertyAsString(config, REST_HOST, "127.0.0.1");
    int port = PropertyUtil.propertyAsInt(config, RESTCatalogServer.REST_PORT, 8181);
    String name =
        PropertyUtil.propertyAsString(config, RESTCatalogServer.CATALOG_NAME, "rest_backend");

    LOG.info("Creating {} catalog with properties: {}", name, redact(config));
    Catalog catalog = CatalogUtil.buildIcebergCatalog(name, config, new Configuration());
    RESTCatalogServer.CatalogContext context = new RESTCatalogServer.CatalogContext(catalog, config);

    RESTCatalogServlet servlet = new RESTCatalogServlet(new RESTServerCatalogAdapter(context));
    ServletContextHandler handler = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    handler.addServlet(new ServletHolder(servlet), "/*");
    handler.insertHandler(new GzipHandler());

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost(host);
    connector.setPort(port);
    connector.setReuseAddress(true);
    server.addConnector(connector);
    server.setHandler(handler);
    server.setStopAtShutdown(true);
    server.start();
    LOG.info("K2 Iceberg REST catalog listening on http://{}:{}/", host, port);
    server.join();
  }

  private static Map<String, String> redact(Map<String, String> config) {
    Map<String, String> copy = Maps.newTreeMap();
    config.forEach(
        (k, v) -> {
          String lk = k.toLowerCase(java.util.Locale.ROOT);
          boolean secret = lk.contains("secret") || lk.contains("password") || lk.contains("token");
          copy.put(k, secret ? "****" : v);
        });
    return copy;
  }
}
