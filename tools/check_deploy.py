#!/usr/bin/env python3
"""Offline checks of deploy/k8s (no cluster needed; no network): parse every manifest with PyYAML, check the
invariants the files rely on, and run the pods' shell commands locally with the built spikify (.build/release/spikify, or SPIKIFY=path): it
converts the bundled QANN and evaluates the first CHECK_LIMIT images (default 64), with
JOB_COMPLETION_INDEX = 0 … completions-1,
then the merge — the same flow as on a cluster, on this machine's filesystem.

    tools/check_deploy.py            (needs python3 with PyYAML; exit status 0 = all checks passed)

Checked: kinds and names; eval Job has completionMode Indexed, completions == its SHARDS env == the merge Job's
SHARDS; both Jobs mount the PVC that reports-pvc.yaml defines (ReadWriteMany); Kubernetes' $(VAR) expansion of
command/args leaves the shell scripts unchanged; every index writes its shard, a re-run resumes, the merge
succeeds and equals an unsharded run (tools/compare_reports.py), and a missing shard makes the merge fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K8S = os.path.join(ROOT, "deploy", "k8s")
failures = []


def check(cond: bool, what: str) -> None:
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


def k8s_expand(text: str, env: dict) -> str:
    """Kubernetes' expansion of $(VAR) in command/args: defined names are replaced, $$ becomes $, others stay."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def load(name: str) -> dict:
    with open(os.path.join(K8S, name), encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    check(len(docs) == 1, f"{name}: one YAML document")
    return docs[0]


def main() -> int:
    pvc, ev, mg = load("reports-pvc.yaml"), load("eval-indexed-job.yaml"), load("merge-job.yaml")
    check(pvc["kind"] == "PersistentVolumeClaim" and "ReadWriteMany" in pvc["spec"]["accessModes"],
          "reports-pvc.yaml: a ReadWriteMany PersistentVolumeClaim")
    check(ev["kind"] == "Job" and ev["spec"].get("completionMode") == "Indexed", "eval: an Indexed Job")
    check(mg["kind"] == "Job", "merge: a Job")
    envs = {}
    for name, job in (("eval", ev), ("merge", mg)):
        pod = job["spec"]["template"]["spec"]
        c = pod["containers"][0]
        envs[name] = {e["name"]: e["value"] for e in c.get("env", [])}
        claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v]
        check(claims == [pvc["metadata"]["name"]], f"{name}: mounts PVC {pvc['metadata']['name']}")
        check(pod.get("restartPolicy") == "Never", f"{name}: restartPolicy Never")
        script = c["args"][0]
        check(k8s_expand(script, envs[name]) == script, f"{name}: $(VAR) expansion leaves the script unchanged")
    shards = int(envs["eval"]["SHARDS"])
    check(ev["spec"]["completions"] == shards == int(envs["merge"]["SHARDS"]),
          f"completions ({ev['spec']['completions']}) == eval SHARDS ({shards}) == merge SHARDS ({envs['merge']['SHARDS']})")
    check(ev["spec"]["parallelism"] <= ev["spec"]["completions"], "parallelism <= completions")

    spikify = os.path.abspath(os.environ.get("SPIKIFY", os.path.join(ROOT, ".build", "release", "spikify")))
    check(os.access(spikify, os.X_OK), f"{spikify} is built (make build)")
    # A full MNIST run per pod is slow: evaluate the first LIMIT images (the pods' commands get --limit appended
    # here, locally only).
    limit = os.environ.get("CHECK_LIMIT", "64")
    with tempfile.TemporaryDirectory(prefix="spikify-k8s-") as tmp:
        for d in ("bin", "models", "data"):
            os.makedirs(os.path.join(tmp, d))
        os.symlink(os.path.abspath(spikify), os.path.join(tmp, "bin", "spikify"))
        qann = os.path.join(ROOT, "models", "vit-mnist-relu-qann16.h5")
        subprocess.run([spikify, "convert", "--model", qann, "--method", "spikezip", "--out",
                        os.path.join(tmp, "models", "snn.h5")], check=True, capture_output=True)
        shutil.copy(os.path.join(ROOT, "models", "data", "mnist-test.h5"), os.path.join(tmp, "data", "test.h5"))

        def pod(job: dict, env: dict) -> subprocess.CompletedProcess:
            c = job["spec"]["template"]["spec"]["containers"][0]
            script = c["args"][0].replace("/work/", tmp + "/")
            if limit:
                script = script.replace(" --resume", f" --limit {limit} --resume")
            full = dict(os.environ, PATH=os.path.join(tmp, "bin") + os.pathsep + os.environ["PATH"])
            full.update({e["name"]: e["value"] for e in c.get("env", [])}, **env)
            return subprocess.run(c["command"] + [script], env=full, capture_output=True, text=True)

        results = [pod(ev, {"JOB_COMPLETION_INDEX": str(k)}) for k in range(shards)]
        check(all(r.returncode == 0 for r in results), f"eval pods 0…{shards - 1} succeed")
        shard0 = os.path.join(tmp, "reports", "shard-0.json")
        with open(shard0, "rb") as f:
            before = f.read()
        check(pod(ev, {"JOB_COMPLETION_INDEX": "0"}).returncode == 0, "a re-run eval pod succeeds")
        with open(shard0, "rb") as f:
            check(f.read() == before, "--resume: the re-run left shard-0.json unchanged")
        r = pod(mg, {})
        check(r.returncode == 0, "merge pod succeeds" + ("" if r.returncode == 0 else f": {r.stderr.strip()[-300:]}"))
        c = ev["spec"]["template"]["spec"]["containers"][0]
        e = {x["name"]: x["value"] for x in c["env"]}
        base = os.path.join(tmp, "unsharded.json")
        subprocess.run([spikify, "eval", "--model", os.path.join(tmp, "models", "snn.h5"), "--data",
                        os.path.join(tmp, "data", "test.h5"), "--timesteps", e["TIMESTEPS"], "--batch-size",
                        e["BATCH_SIZE"], "--report", base] + (["--limit", limit] if limit else []),
                       check=True, capture_output=True)
        cmp = subprocess.run([os.path.join(ROOT, "tools", "compare_reports.py"), "--quiet", base,
                              os.path.join(tmp, "reports", "report.json")])
        check(cmp.returncode == 0, "merged report == unsharded report (except timing)")
        os.remove(os.path.join(tmp, "reports", f"shard-{shards - 1}.json"))
        r = pod(mg, {})
        check(r.returncode != 0 and "missing" in r.stderr, "merge pod fails when a shard is missing")
    print(f"{'FAILED' if failures else 'passed'}: deploy/k8s checks ({os.path.basename(spikify)})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
