#!/bin/sh
# The kustomize base in manifests/: it renders offline with `kubectl
# kustomize`, and its wiring holds together: the APIService names the Service
# and its port, the Service targets the container port by name, the serving
# certificate `scalewise certs` makes has the Service's DNS name and its CA is
# what the caBundle patch puts in the APIService, the adapter's and the HPA's
# service accounts are bound to the roles they need, the probes hit served
# paths on the https port, the config volume names the ConfigMap and its
# config is valid. (No cluster here: nothing is applied.)
# usage: tests/e2e/test_manifests.sh path/to/scalewise
set -u
BIN=${1:?usage: $0 path/to/scalewise}
. "$(dirname "$0")/lib.sh"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
M="$ROOT/manifests"

# --- renders ---------------------------------------------------------------------
if kubectl kustomize "$M" >"$TMP/rendered.yaml" 2>"$TMP/kustomize.err"; then ok; else
	bad "kubectl kustomize manifests/ failed: $(cat "$TMP/kustomize.err")"; finish e2e-manifests; exit 1
fi
# YAML to JSON without PyYAML: kubectl's client-side --local mode, offline
if kubectl annotate --local -f "$TMP/rendered.yaml" -o json scalewise.test/rendered=1 >"$TMP/rendered.json" \
	2>"$TMP/convert.err"; then ok; else bad "cannot convert the rendered YAML: $(cat "$TMP/convert.err")"; fi

# --- the serving certificate for the Service's name ------------------------------------
read_svc() { python3 - "$TMP/rendered.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
dec, i, objs = json.JSONDecoder(), 0, []
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    o, i = dec.raw_decode(text, i)
    objs.extend(o["items"] if o.get("kind") == "List" else [o])
svc = [o for o in objs if o["kind"] == "APIService"][0]["spec"]["service"]
print(svc["name"], svc["namespace"])
PY
}
SVCNS=$(read_svc)
SVC=${SVCNS% *}; NS=${SVCNS#* }
CABUNDLE=$("$BIN" certs --service "$SVC" --namespace "$NS" --out "$TMP/certs" 2>>"$TMP/all-servers.log")
check "scalewise certs" 0 "$?"
SANS=$(openssl x509 -in "$TMP/certs/tls.crt" -noout -ext subjectAltName 2>/dev/null)
contains "serving cert SAN for the aggregator (<svc>.<ns>.svc)" "DNS:$SVC.$NS.svc," "$SANS,"
contains "serving cert SAN <svc>.<ns>.svc.cluster.local" "DNS:$SVC.$NS.svc.cluster.local" "$SANS"

# the documented caBundle step (README.md) on a copy of the base
cp -r "$M" "$TMP/m"
sed -i "s|^  caBundle: .*|  caBundle: $CABUNDLE|" "$TMP/m/apiservice-cabundle.yaml"
kubectl kustomize "$TMP/m" | kubectl annotate --local -f - -o json scalewise.test/rendered=1 >"$TMP/filled.json" 2>&1
GOT=$(python3 - "$TMP/filled.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
dec, i = json.JSONDecoder(), 0
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    o, i = dec.raw_decode(text, i)
    if o.get("kind") == "APIService":
        print(o["spec"].get("caBundle", ""))
PY
)
check "the patch puts the printed caBundle in the APIService" "$CABUNDLE" "$GOT"
printf '%s' "$GOT" | base64 -d >"$TMP/cabundle.pem" 2>/dev/null
check "the caBundle verifies the serving certificate" "$TMP/certs/tls.crt: OK" \
	"$(openssl verify -CAfile "$TMP/cabundle.pem" "$TMP/certs/tls.crt" 2>&1)"
check "the base's placeholder is not valid base64 (applying it unfilled fails)" 1 \
	"$(grep -c 'caBundle: REPLACE_WITH' "$M/apiservice-cabundle.yaml")"

# --- the wiring --------------------------------------------------------------------------
python3 - "$TMP/rendered.json" "$TMP/config-from-configmap.yaml" >"$TMP/wiring.out" 2>&1 <<'PY'
import json, sys
text = open(sys.argv[1]).read()
dec, i, objs = json.JSONDecoder(), 0, []
while i < len(text):
    if text[i].isspace():
        i += 1
        continue
    o, i = dec.raw_decode(text, i)
    objs.extend(o["items"] if o.get("kind") == "List" else [o])

def check(name, cond):
    print(("ok " if cond else "FAIL ") + name)

def one(kind, pred=lambda o: True):
    found = [o for o in objs if o["kind"] == kind and pred(o)]
    check("exactly one %s" % kind, len(found) == 1)
    return found[0] if found else {}

def sel_matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

kinds = {o["kind"] for o in objs}
for k in ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "RoleBinding", "Deployment",
          "Service", "APIService", "PodDisruptionBudget", "NetworkPolicy", "ConfigMap"]:
    check("renders a " + k, k in kinds)

api = one("APIService")
spec = api.get("spec", {})
check("APIService name", api.get("metadata", {}).get("name") == "v1beta1.external.metrics.k8s.io")
check("APIService group/version", spec.get("group") == "external.metrics.k8s.io" and spec.get("version") == "v1beta1")
check("groupPriorityMinimum 100, versionPriority 100",
      spec.get("groupPriorityMinimum") == 100 and spec.get("versionPriority") == 100)
check("no insecureSkipTLSVerify", not spec.get("insecureSkipTLSVerify"))
ref = spec.get("service", {})
svc = one("Service", lambda o: o["metadata"]["name"] == ref.get("name")
          and o["metadata"].get("namespace") == ref.get("namespace"))
ports = svc.get("spec", {}).get("ports", [])
sport = [p for p in ports if p.get("port") == ref.get("port", 443)]
check("the Service has the APIService's port (%s)" % ref.get("port", 443), len(sport) == 1)
sport = sport[0] if sport else {}
check("the Service port is named https", sport.get("name") == "https")

dep = one("Deployment")
pod = dep.get("spec", {}).get("template", {})
labels = pod.get("metadata", {}).get("labels", {})
pspec = pod.get("spec", {})
check("the Service selects the Deployment's pods", sel_matches(svc.get("spec", {}).get("selector"), labels))
check("the Deployment selector matches its pods",
      sel_matches(dep.get("spec", {}).get("selector", {}).get("matchLabels"), labels))
check("2 replicas", dep.get("spec", {}).get("replicas") == 2)
check("pod anti-affinity on hostname",
      "kubernetes.io/hostname" in json.dumps(pspec.get("affinity", {}).get("podAntiAffinity", {})))
c = (pspec.get("containers") or [{}])[0]
cports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
check("the Service targets the container port by name",
      isinstance(sport.get("targetPort"), str) and sport.get("targetPort") in cports)
check("the https container port is 6443", cports.get("https") == 6443)
args = c.get("args", [])
check("--secure-port matches the container port", "--secure-port=%s" % cports.get("https") in args)
for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
    g = c.get(probe, {}).get("httpGet", {})
    check("%s: GET %s over HTTPS on the https port" % (probe, path),
          g.get("path") == path and g.get("scheme") == "HTTPS" and (g.get("port") == "https" or g.get("port") == 6443))
sc, psc = c.get("securityContext", {}), pspec.get("securityContext", {})
check("non-root", sc.get("runAsNonRoot") or psc.get("runAsNonRoot"))
check("read-only root filesystem", sc.get("readOnlyRootFilesystem") is True)
check("no privilege escalation", sc.get("allowPrivilegeEscalation") is False)
check("all capabilities dropped", sc.get("capabilities", {}).get("drop") == ["ALL"])
check("RuntimeDefault seccomp", (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type") == "RuntimeDefault")
res = c.get("resources", {})
check("requests and limits", res.get("requests", {}).get("cpu") and res.get("requests", {}).get("memory")
      and res.get("limits", {}).get("cpu") and res.get("limits", {}).get("memory"))

vols = {v["name"]: v for v in pspec.get("volumes", [])}
mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
def volume_of(path):
    best = max((m for m in mounts if path.startswith(m.rstrip("/") + "/")), key=len, default=None)
    return vols.get(mounts.get(best), {})
arg = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in args if "=" in a}
cm_name = volume_of(arg.get("--config", "")).get("configMap", {}).get("name")
cm = one("ConfigMap", lambda o: o["metadata"]["name"] == cm_name and o["metadata"].get("namespace")
         == dep["metadata"].get("namespace"))
key = arg.get("--config", "").rsplit("/", 1)[-1]
check("the config volume names the ConfigMap, which holds %s" % key, key in cm.get("data", {}))
open(sys.argv[2], "w").write(cm.get("data", {}).get(key, ""))
for flag in ("--tls-cert-file", "--tls-private-key-file"):
    check("%s is in the Secret scalewise-serving-cert" % flag,
          volume_of(arg.get(flag, "")).get("secret", {}).get("secretName") == "scalewise-serving-cert")
    check("%s names a key of a kubernetes.io/tls Secret" % flag, arg.get(flag, "").rsplit("/", 1)[-1] in ("tls.crt", "tls.key"))

sa = pspec.get("serviceAccountName")
ns = dep["metadata"].get("namespace")
def bound(kind, role_kind, role, subj_name, subj_ns, where=None):
    for o in objs:
        if o["kind"] != kind or o.get("roleRef", {}).get("kind") != role_kind or o["roleRef"].get("name") != role:
            continue
        if where and o["metadata"].get("namespace") != where:
            continue
        for s in o.get("subjects", []):
            if s.get("kind") == "ServiceAccount" and s.get("name") == subj_name and s.get("namespace") == subj_ns:
                return True
    return False
check("the adapter's SA exists", any(o["kind"] == "ServiceAccount" and o["metadata"]["name"] == sa
                                     and o["metadata"].get("namespace") == ns for o in objs))
check("the adapter's SA is bound to system:auth-delegator",
      bound("ClusterRoleBinding", "ClusterRole", "system:auth-delegator", sa, ns))
check("the adapter's SA is bound to extension-apiserver-authentication-reader in kube-system",
      bound("RoleBinding", "Role", "extension-apiserver-authentication-reader", sa, ns, "kube-system"))
readers = [o["metadata"]["name"] for o in objs if o["kind"] == "ClusterRole" and any(
    "external.metrics.k8s.io" in r.get("apiGroups", []) and "*" in r.get("resources", [])
    and {"get", "list"} <= set(r.get("verbs", [])) for r in o.get("rules", []))]
check("a ClusterRole reads external metrics", len(readers) == 1)
check("the HPA's SA (kube-system/horizontal-pod-autoscaler) is bound to it",
      any(bound("ClusterRoleBinding", "ClusterRole", r, "horizontal-pod-autoscaler", "kube-system") for r in readers))

pdb = one("PodDisruptionBudget")
check("PDB minAvailable 1 over the pods", pdb.get("spec", {}).get("minAvailable") == 1
      and sel_matches(pdb.get("spec", {}).get("selector", {}).get("matchLabels"), labels))
np_ = one("NetworkPolicy")
check("NetworkPolicy selects the pods", sel_matches(np_.get("spec", {}).get("podSelector", {}).get("matchLabels"), labels))
check("NetworkPolicy lets 6443 in from anywhere", any(
    not r.get("from") and any(p.get("port") in (6443, "https") for p in r.get("ports", []))
    for r in np_.get("spec", {}).get("ingress", [])))
check("NetworkPolicy lets DNS out", any(any(p.get("port") == 53 for p in r.get("ports", []))
                                        for r in np_.get("spec", {}).get("egress", [])))
nsobj = one("Namespace")
check("every namespaced object but the kube-system RoleBinding is in the Namespace", all(
    o["metadata"].get("namespace") in (None, nsobj.get("metadata", {}).get("name"))
    or (o["kind"] == "RoleBinding" and o["metadata"].get("namespace") == "kube-system") for o in objs))
PY
check "wiring checks ran" 0 "$?"
while read -r status name; do
	case $status in ok) ok ;; *) bad "manifests: $name" ;; esac
done <"$TMP/wiring.out"
[ -s "$TMP/wiring.out" ] || bad "no wiring checks ran"

# --- the config in the ConfigMap is valid, and the example HPA asks for one of its metrics -------
out=$("$BIN" check --config "$TMP/config-from-configmap.yaml" 2>&1)
check "the ConfigMap's config passes scalewise check" 0 "$?"
printf '%s\n' "$out" >>"$TMP/all-servers.log"
contains "the config uses delegated auth" "mode: delegated" "$(cat "$TMP/config-from-configmap.yaml")"
METRIC=$(kubectl annotate --local -f "$M/examples/hpa.yaml" -o json scalewise.test/x=1 2>/dev/null |
	python3 -c 'import json,sys; o=json.load(sys.stdin); print([m["external"]["metric"]["name"] for m in o["spec"]["metrics"] if m["type"]=="External"][0])')
contains "the example HPA's external metric is in the config" "- name: $METRIC" "$(cat "$TMP/config-from-configmap.yaml")"

# --- the image runs as the user the Deployment expects ---------------------------------------------
contains "Dockerfile: Debian 12" "FROM debian:12" "$(cat "$ROOT/Dockerfile")"
contains "Dockerfile: non-root user 65532" "USER 65532:65532" "$(cat "$ROOT/Dockerfile")"
contains "Deployment runs as 65532" '"runAsUser":65532' "$(tr -d ' \n' <"$TMP/rendered.json")"

finish e2e-manifests
