// The interactive API page (/api/docs): Swagger UI on this server's own OpenAPI document.
// A file of its own because the Content-Security-Policy allows no inline script.
window.SwaggerUIBundle({
  url: "/api/schema/openapi.json",
  dom_id: "#api-docs",
  deepLinking: true,
  // Tokens typed into "Authorize" stay in this tab only.
  persistAuthorization: false,
  tryItOutEnabled: true,
});
