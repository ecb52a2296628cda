"""The repo `.ci/ecosystem` runs `renovate --platform=local` on, and the check of its log.

`make DIR`: the bundled example repo plus docs/renovate/renovate.json and three
waypath.yaml files, one per way of writing the `# renovate:` comment the regex manager must
read (block style with a `versioning=` field, flow style, a `stable-*` target).
`check LOG`: every one of them was extracted with the right depName and currentValue, and
looked up (the lookup itself may fail: the Helm repositories are not reachable from CI).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAD = "apiVersion: waypath.dev/v1\nkind: Config\ncomponents:\n"
BEL = "datasource=helm depName=linkerd-enterprise-control-plane registryUrl=https://helm.buoyant.cloud"
FILES = {
    "waypath.yaml": HEAD + "  linkerd:\n"
    f"    # renovate: {BEL} versioning=semver\n"
    "    version: enterprise-2.16.5\n"
    "    params: {license_secret: buoyant-license}\n",
    "clusters/prod/waypath.yaml": HEAD + f"  # renovate: {BEL}\n"
    '  linkerd: {version: "enterprise-2.17.3", params: {license_secret: x}}\n',
    "clusters/nonprod/waypath.yaml": HEAD + "  linkerd:\n"
    "    # renovate: datasource=helm depName=linkerd2 registryUrl=https://helm.linkerd.io/stable\n"
    "    version: 'stable-2.11.3'\n",
}
EXPECTED = {
    "waypath.yaml": ("linkerd-enterprise-control-plane", "2.16.5", "semver"),
    "clusters/prod/waypath.yaml": ("linkerd-enterprise-control-plane", "2.17.3", None),
    "clusters/nonprod/waypath.yaml": ("linkerd2", "2.11.3", None),
}


def make(folder: Path) -> None:
    shutil.copytree(ROOT / "examples", folder)
    shutil.copy2(ROOT / "docs" / "renovate" / "renovate.json", folder / "renovate.json")
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"}
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=ci", "-c", "user.email=ci@example.com", "commit", "-qm", "example"],
    ):
        subprocess.run(["git", *args], cwd=folder, check=True, env=env)


def check(log: Path) -> int:
    entries = []
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    problems = [f"renovate logged: {e['msg']}" for e in entries if e.get("level", 0) >= 50]
    found = [e for e in entries if e.get("msg") == "packageFiles with updates"]
    if not found:
        problems.append("no 'packageFiles with updates' in the log: did Renovate run?")
        regex = []
    else:
        regex = found[-1]["config"].get("regex", [])
    got = {
        f["packageFile"]: (d["depName"], d.get("currentValue"), d.get("versioning"), d)
        for f in regex
        for d in f["deps"]
    }
    for name, (dep, value, versioning) in EXPECTED.items():
        if name not in got:
            problems.append(f"{name}: the regex manager extracted nothing")
            continue
        g_dep, g_value, g_versioning, raw = got[name]
        if (g_dep, g_value) != (dep, value):
            problems.append(f"{name}: extracted {g_dep}={g_value}, expected {dep}={value}")
        if versioning and g_versioning != versioning:
            problems.append(f"{name}: versioning {g_versioning}, expected {versioning}")
        if "updates" not in raw:
            problems.append(f"{name}: not looked up")
        else:
            print(
                f"ok {name}: {g_dep} {g_value} (lookup: {len(raw['updates'])} update(s)"
                + "".join(f"; {w['message']}" for w in raw.get("warnings", []))
                + ")"
            )
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    command, path = sys.argv[1], Path(sys.argv[2])
    if command == "make":
        make(path)
        sys.exit(0)
    sys.exit(check(path))
