// Starts Swagger UI on /api/docs. A file rather than an inline script, so the page keeps the strict CSP.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // Validating the spec would send it to an outside service; everything here stays on this server.
    validatorUrl: null,
  });
});
