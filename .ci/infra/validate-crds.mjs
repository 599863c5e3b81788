// Validates the custom resources of rendered manifests against the typed models of
// @kubernetes-models/{istio,keda,external-secrets}, whose validators are compiled from the
// upstream CRD OpenAPI schemas (types, enums, required fields). The strict unknown-field
// check is done by .ci/validate_manifests.py with mesh/schemas; this is the second opinion
// from upstream. Usage: node validate-crds.mjs rendered.yaml [...]
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const groups = {
  "security.istio.io": "@kubernetes-models/istio",
  "networking.istio.io": "@kubernetes-models/istio",
  "telemetry.istio.io": "@kubernetes-models/istio",
  "keda.sh": "@kubernetes-models/keda",
  "external-secrets.io": "@kubernetes-models/external-secrets",
};

let checked = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const obj = doc.toJS();
    if (!obj || !obj.apiVersion) continue;
    const [group, version] = obj.apiVersion.split("/");
    const pkg = groups[group];
    if (!pkg) continue;
    const where = `${file}: ${obj.kind}/${obj.metadata?.namespace ?? "-"}/${obj.metadata?.name}`;
    let Model;
    try {
      Model = (await import(`${pkg}/${group}/${version}/${obj.kind}`))[obj.kind];
    } catch (e) {
      console.error(`ERROR ${where}: no typed model for ${obj.apiVersion} ${obj.kind}`);
      failed++;
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      console.error(`ERROR ${where}: ${e.message}`);
      failed++;
    }
    checked++;
  }
}
console.log(`typed models: ${checked} custom resources checked, ${failed} error(s)`);
process.exit(failed ? 1 : 0);
