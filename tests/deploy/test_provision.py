"""provision.sh run for real, in a sandbox: a copy of the kit, a PATH holding only fakes of the system
commands (ufw, apt-get, dpkg, docker, systemctl, swapon, ...) that keep their state in files, and
every absolute path of the script moved under a scratch root. What the script leaves behind is
checked (the firewall's rules, the files it writes), not how it got there.

Safety: the script can reach no real system command (PATH holds the fakes and a few read-only tools
plus chmod, which only ever sees remapped paths), and no absolute path outside the scratch root."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

KIT = Path(__file__).resolve().parents[2] / "deploy" / "evolution"
PUBLIC_DEFAULT_KEY = "429683C4C977415CAAFCCE10F7D57E11"  # in Evolution's own .env.example
REAL_TOOLS = ("grep", "cut", "dirname", "cat", "wc", "seq", "chmod")
# An absolute path as the script writes one (after a space, a quote, `=`, `>` or a grep anchor).
ABSOLUTE = re.compile(r"(?<=[\s'\"=>^])/(?=[A-Za-z])(?!dev/)")

RECORD = 'echo "${0##*/} $*" >> "$CALLS"\n'
FAKES = {
    "id": 'case "$1" in -u) echo "$FAKE_UID" ;; *) echo "uid=$FAKE_UID" ;; esac\n',
    "apt-get": RECORD + """
if [ "$1" = install ]; then
  for arg in "$@"; do case "$arg" in install|-*) ;; *) : > "$STATE/installed-$arg" ;; esac; done
fi
""",
    "dpkg": RECORD + '[ "$1" = -s ] && [ -e "$STATE/installed-$2" ]\n',
    "systemctl": RECORD,  # docker is enabled
    "docker": RECORD + 'echo "$PWD" >> "$STATE/docker-cwd"\n',  # `docker compose version` answers 0
    "ufw": RECORD + """
case "$1" in
  status)
    # One write, as ufw's own buffered output: `ufw status | grep -q` under pipefail must not see a SIGPIPE.
    out='Status: inactive'
    if [ -e "$STATE/ufw-active" ]; then
      out='Status: active

To                         Action      From
--                         ------      ----'
      [ -e "$STATE/ufw-rules" ] && while IFS= read -r rule; do
        out="$out
$(printf '%-26s ALLOW       Anywhere' "$rule")"; done < "$STATE/ufw-rules"
    fi
    printf '%s\\n' "$out" ;;
  allow) echo "$2" >> "$STATE/ufw-rules"; echo "allow $2" >> "$STATE/ufw-history" ;;
  --force) [ "$2" = enable ] || exit 1; : > "$STATE/ufw-active"; echo enable >> "$STATE/ufw-history" ;;
  *) exit 1 ;;
esac
""",
    "swapon": RECORD + """
case "$1" in
  --show) [ -e "$STATE/swap" ] && echo "/swapfile file 2G 0B -2" ;;
  *) : > "$STATE/swap" ;;
esac
exit 0
""",
    "fallocate": RECORD + ': > "$3"\n',
    "mkswap": RECORD,
    "curl": RECORD + 'echo \'{"status":200,"message":"Welcome to the Evolution API, it is working!"}\'\n',
    "sleep": RECORD,
}


def env_text(**changes: str) -> str:
    """The kit's .env.example as the operator is told to fill it: copied, comments and all, every
    CHANGE_ME value replaced by a secret of its own; then `changes`."""
    lines = []
    for line in (KIT / ".env.example").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            value = f"{key.lower()}-generated-secret" if value.startswith("CHANGE_ME") else value
            lines.append(f"{key}={changes.pop(key, value)}")
        else:
            lines.append(line)  # the header says "replace every CHANGE_ME": a comment, not a placeholder
    lines += [f"{k}={v}" for k, v in changes.items()]
    return "\n".join(lines) + "\n"


GOOD_ENV = env_text(EVOLUTION_DOMAIN="evo.shop.test", CORS_ORIGIN="https://evo.shop.test")


@dataclass
class Server:
    root: Path  # stands for `/`
    kit: Path  # where the operator unpacked the kit
    state: Path  # the fakes' state
    calls_file: Path

    def run(self, uid: int = 0) -> subprocess.CompletedProcess:
        self.calls_file.unlink(missing_ok=True)
        env = {"PATH": str(self.root.parent / "bin"), "HOME": str(self.root / "root"), "CALLS": str(self.calls_file),
               "STATE": str(self.state), "FAKE_UID": str(uid)}
        return subprocess.run([shutil.which("bash"), str(self.kit / "provision.sh")], env=env, cwd=self.root,
                              capture_output=True, text=True, timeout=60)

    @property
    def calls(self) -> list[str]:
        return self.calls_file.read_text().splitlines() if self.calls_file.exists() else []

    def firewall(self) -> tuple[bool, list[str]]:
        history = self.state / "ufw-history"
        return (self.state / "ufw-active").exists(), history.read_text().splitlines() if history.exists() else []


@pytest.fixture
def server(tmp_path) -> Server:
    """A fresh Ubuntu server with Docker installed and enabled; no firewall rules, no swap."""
    root, bin_, state = tmp_path / "root", tmp_path / "bin", tmp_path / "state"
    for d in (root / "etc" / "apt" / "apt.conf.d", root / "root", bin_, state):
        d.mkdir(parents=True)
    (root / "etc" / "fstab").write_text("UUID=0a1b / ext4 defaults 0 1\n")
    kit = root / "opt" / "evolution"
    shutil.copytree(KIT, kit)
    script = (KIT / "provision.sh").read_text()
    (kit / "provision.sh").write_text(ABSOLUTE.sub(str(root) + "/", script))
    (kit / ".env").write_text(GOOD_ENV)
    for name in REAL_TOOLS:
        (bin_ / name).symlink_to(shutil.which(name))
    for name, body in FAKES.items():
        (bin_ / name).write_text("#!/bin/sh\n" + body)
        (bin_ / name).chmod(0o755)
    return Server(root, kit, state, tmp_path / "calls")


def apt_periodic(path: Path) -> dict[str, str]:
    """An apt.conf file's `Key "value";` settings."""
    return dict(re.findall(r'^\s*([\w:-]+)\s+"([^"]*)"\s*;', path.read_text(), re.M))


def test_a_fresh_server_gets_a_closed_firewall_updates_swap_and_the_running_stack(server):
    run = server.run()
    assert run.returncode == 0, run.stdout + run.stderr
    active, history = server.firewall()
    compose = yaml.safe_load((KIT / "docker-compose.yml").read_text())
    caddy_ports = {str(p).split(":")[-1] for p in compose["services"]["caddy"]["ports"]}
    allowed = [h.removeprefix("allow ") for h in history if h.startswith("allow ")]
    # Open: SSH, and the ports Caddy publishes; nothing else (Evolution's own port above all).
    assert active and set(allowed) == {"22/tcp"} | {f"{p}/tcp" for p in caddy_ports}
    assert history.index("allow 22/tcp") < history.index("enable")  # never lock SSH out
    assert apt_periodic(server.root / "etc/apt/apt.conf.d/20auto-upgrades") == {
        "APT::Periodic::Update-Package-Lists": "1", "APT::Periodic::Unattended-Upgrade": "1"}
    assert (server.state / "installed-unattended-upgrades").exists()
    swapfile = server.root / "swapfile"
    assert swapfile.exists() and swapfile.stat().st_mode & 0o077 == 0  # swap readable by root only
    assert [line.split()[:3] for line in (server.root / "etc/fstab").read_text().splitlines()
            if line.split()[1:3] == ["none", "swap"]] == [[str(swapfile), "none", "swap"]]
    assert "docker compose up -d" in server.calls
    assert (server.state / "docker-cwd").read_text().split()[-1] == str(server.kit)  # beside its compose file


def test_running_it_twice_changes_nothing(server):
    assert server.run().returncode == 0
    files = {p: p.read_bytes() for p in (server.root / "etc").rglob("*") if p.is_file()}
    firewall = server.firewall()
    again = server.run()
    assert again.returncode == 0, again.stdout + again.stderr
    assert server.firewall() == firewall
    assert {p: p.read_bytes() for p in (server.root / "etc").rglob("*") if p.is_file()} == files
    changing = [c for c in server.calls if c.split()[0] in ("apt-get", "fallocate", "mkswap")
                or c.startswith(("ufw allow", "ufw --force", "swapon /"))]
    assert changing == []


def test_a_run_after_swapoff_turns_the_swap_back_on_with_one_fstab_entry(server):
    assert server.run().returncode == 0
    (server.state / "swap").unlink()  # `swapoff -a` on the server
    again = server.run()
    assert again.returncode == 0, again.stdout + again.stderr
    assert (server.state / "swap").exists()
    entries = [line for line in (server.root / "etc/fstab").read_text().splitlines() if " swap " in line]
    assert len(entries) == 1, entries


@pytest.mark.parametrize(("env", "uid", "told"), [
    ((KIT / ".env.example").read_text(), 0, "CHANGE_ME"),
    (env_text(EVOLUTION_DOMAIN="evo.shop.test", AUTHENTICATION_API_KEY=PUBLIC_DEFAULT_KEY), 0, "key"),
    (env_text(), 0, "EVOLUTION_DOMAIN"),  # still evo.example.com
    (env_text(EVOLUTION_DOMAIN=""), 0, "EVOLUTION_DOMAIN"),
    (None, 0, ".env"),
    (GOOD_ENV, 1000, "root"),
], ids=["placeholders", "public-api-key", "example-domain", "no-domain", "no-env-file", "not-root"])
def test_it_refuses_before_touching_the_server(server, env, uid, told):
    if env is None:
        (server.kit / ".env").unlink()
    else:
        (server.kit / ".env").write_text(env)
    run = server.run(uid=uid)
    assert run.returncode != 0
    assert told in run.stderr, run.stderr
    assert server.calls == [] and server.firewall() == (False, [])
    assert not (server.root / "etc/apt/apt.conf.d/20auto-upgrades").exists()
