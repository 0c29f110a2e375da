import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The console is served by the gateway under /console/ and embedded from
// ../dist. The generated API types live in the repository's gen/ts; their
// @bufbuild/protobuf imports resolve to this package's pinned copy.
export default defineConfig({
  base: "/console/",
  resolve: {
    alias: { "@gen": here("../../../../gen/ts") },
    dedupe: ["@bufbuild/protobuf", "preact"],
  },
  build: {
    outDir: here("../dist"),
    emptyOutDir: true,
    // Everything is in the binary: no source maps, no inline assets (the CSP
    // allows no data: URLs), one script and one style sheet.
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  oxc: {
    jsx: { runtime: "automatic", importSource: "preact" },
  },
});
