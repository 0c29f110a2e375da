// Copies the generated stubs the SDK uses from the repository's gen/ts (the
// only committed copy, written by `make generate`) into src/gen, so that tsc
// compiles them with the SDK and Node resolves their imports
// (@bufbuild/protobuf) from this package's node_modules.
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const from = join(pkg, "..", "..", "gen", "ts");
const to = join(pkg, "src", "gen");
const files = ["msg/gateway/v1/gateway_pb.ts", "msg/enroll/v1/enroll_pb.ts", "google/rpc/error_details_pb.ts"];

rmSync(to, { recursive: true, force: true });
for (const f of files) {
  mkdirSync(dirname(join(to, f)), { recursive: true });
  cpSync(join(from, f), join(to, f));
}
