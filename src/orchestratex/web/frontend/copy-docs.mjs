// Copies the API docs' browser bundles from node_modules (npm registry packages pinned in
// package-lock.json) into ../static/dist/docs, so /docs and /redoc work without a CDN.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "dist", "docs");
const files = {
  "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-bundle.js",
  "swagger-ui-dist/swagger-ui.css": "swagger-ui.css",
  "swagger-ui-dist/LICENSE": "swagger-ui.LICENSE.txt",
  "redoc/bundles/redoc.standalone.js": "redoc.standalone.js",
  "redoc/bundles/redoc.standalone.js.LICENSE.txt": "redoc.standalone.js.LICENSE.txt",
};
mkdirSync(out, { recursive: true });
for (const [from, to] of Object.entries(files)) {
  copyFileSync(join(here, "node_modules", from), join(out, to));
}
console.log(`copied ${Object.keys(files).length} API docs files to ${out}`);
