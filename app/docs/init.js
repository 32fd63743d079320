// Starts Swagger UI on the document of the origin that serves this page (a file, not an inline
// script, so the Content-Security-Policy allows it).
// validatorUrl: null, so no badge ever asks another host to validate the document.
window.ui = window.SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
});
