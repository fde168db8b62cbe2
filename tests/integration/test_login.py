"""rustimg login / logout against the real htpasswd registry over TLS, and
podman's default auth file (issue 14, item 3).

Every run is hermetic: DOCKER_CONFIG and XDG_RUNTIME_DIR point into the
test's tmp_path, HOME at nothing, so no credentials of the caller are read.
"""
import base64
import fcntl
import json
import os
import select
import signal
import stat
import subprocess
import termios
import time

import pytest

from conftest import rustimg_bin
from registries import WRONG_PASSWORD
from test_push import cli, hello_layout  # noqa: F401  module fixture: the example built into a layout


@pytest.fixture
def env(tmp_path):
    """The environment of one hermetic user: its docker config dir and
    XDG_RUNTIME_DIR (both empty), and no REGISTRY_AUTH_FILE."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return {"DOCKER_CONFIG": str(tmp_path / "home" / ".docker"), "XDG_RUNTIME_DIR": str(run_dir),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "REGISTRY_AUTH_FILE": ""}


def login(rustimg, registry, password, env, *extra):
    return cli(rustimg, "login", "--registry-ca", registry.ca_file, "--username", registry.user,
               "--password-stdin", *extra, registry.host, stdin=password + "\n", env=env)


def push(rustimg, registry, layout, tag, env):
    return cli(rustimg, "push", "--registry-ca", registry.ca_file, f"oci:{layout}:v1",
               f"{registry.host}/login/hello:{tag}", env=env)


def test_login_stores_a_private_entry_that_push_uses_and_logout_removes(rustimg, hello_layout, registry_tls, env):
    layout, digest, _ = hello_layout
    config = os.path.join(env["DOCKER_CONFIG"], "config.json")

    proc = login(rustimg, registry_tls, registry_tls.password, env)
    assert proc.returncode == 0, proc.stderr
    assert registry_tls.host in proc.stderr and config in proc.stderr
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(env["DOCKER_CONFIG"]).st_mode) == 0o700
    entry = json.load(open(config))["auths"][registry_tls.host]
    assert base64.b64decode(entry["auth"]).decode() == f"{registry_tls.user}:{registry_tls.password}"

    # A push with no credential flag uses what login stored.
    proc = push(rustimg, registry_tls, layout, "after-login", env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"{registry_tls.host}/login/hello:after-login@{digest}"

    proc = cli(rustimg, "logout", registry_tls.host, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "removed" in proc.stderr
    assert registry_tls.host not in json.load(open(config))["auths"]

    # Logged out: the registry refuses, and the advice names rustimg login.
    proc = push(rustimg, registry_tls, layout, "after-logout", env)
    assert proc.returncode == 1, proc.stderr
    assert f"rustimg login {registry_tls.host}" in proc.stderr
    assert "docker login" not in proc.stderr

    # Logging out again says there was nothing to remove.
    proc = cli(rustimg, "logout", registry_tls.host, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "no stored credentials" in proc.stderr


def test_wrong_password_fails_writes_nothing_and_prints_no_secret(rustimg, registry_tls, env):
    proc = login(rustimg, registry_tls, WRONG_PASSWORD, env)
    assert proc.returncode == 1, proc.stderr
    assert registry_tls.host in proc.stderr and registry_tls.user in proc.stderr
    assert WRONG_PASSWORD not in proc.stderr + proc.stdout
    assert not os.path.exists(env["DOCKER_CONFIG"])


def test_login_keeps_the_other_keys_of_the_config(rustimg, registry_tls, env):
    os.makedirs(env["DOCKER_CONFIG"])
    config = os.path.join(env["DOCKER_CONFIG"], "config.json")
    other = {"auths": {"other.example": {"auth": base64.b64encode(b"x:y").decode()}},
             "proxies": {"default": {"noProxy": "localhost"}}, "credHelpers": {"gcr.io": "gcloud"}}
    with open(config, "w") as f:
        json.dump(other, f)
    proc = login(rustimg, registry_tls, registry_tls.password, env)
    assert proc.returncode == 0, proc.stderr
    doc = json.load(open(config))
    assert doc["proxies"] == other["proxies"] and doc["credHelpers"] == other["credHelpers"]
    assert doc["auths"]["other.example"] == other["auths"]["other.example"]
    assert registry_tls.host in doc["auths"]


def test_login_and_logout_use_the_credential_store_the_config_names(rustimg, hello_layout, registry_tls, env,
                                                                    tmp_path):
    """credsStore names docker-credential-rustimgtest: a real script on PATH
    that keeps what it is given in a file, as docker-credential-pass would."""
    layout, _, _ = hello_layout
    bindir = tmp_path / "bin"
    bindir.mkdir()
    store = tmp_path / "helper-store.json"
    helper = bindir / "docker-credential-rustimgtest"
    helper.write_text("#!/bin/sh\n"
                      f"STORE={store}\n"
                      "case \"$1\" in\n"
                      "  store) cat > \"$STORE\" ;;\n"
                      "  get) read url; [ -f \"$STORE\" ] || { echo 'credentials not found in native keychain'; exit 1; }\n"
                      "       cat \"$STORE\" ;;\n"
                      "  erase) read url; [ -f \"$STORE\" ] || { echo 'credentials not found in native keychain'; exit 1; }\n"
                      "       rm \"$STORE\" ;;\n"
                      "  *) exit 3 ;;\n"
                      "esac\n")
    helper.chmod(0o755)
    os.makedirs(env["DOCKER_CONFIG"])
    config = os.path.join(env["DOCKER_CONFIG"], "config.json")
    with open(config, "w") as f:
        json.dump({"credsStore": "rustimgtest"}, f)
    env = dict(env, PATH=f"{bindir}:{os.environ['PATH']}")

    proc = login(rustimg, registry_tls, registry_tls.password, env)
    assert proc.returncode == 0, proc.stderr
    assert "docker-credential-rustimgtest" in proc.stderr
    assert json.loads(store.read_text()) == {"ServerURL": registry_tls.host, "Username": registry_tls.user,
                                             "Secret": registry_tls.password}
    assert json.load(open(config)) == {"credsStore": "rustimgtest"}  # the secret is not in the file

    proc = push(rustimg, registry_tls, layout, "from-helper", env)
    assert proc.returncode == 0, proc.stderr

    proc = cli(rustimg, "logout", registry_tls.host, env=env)
    assert proc.returncode == 0, proc.stderr
    assert not store.exists()


def test_podman_default_auth_file_is_read_first(rustimg, hello_layout, registry_tls, env):
    """podman login writes $XDG_RUNTIME_DIR/containers/auth.json; like podman,
    rustimg reads it before docker's config (here holding a wrong password)."""
    layout, _, _ = hello_layout
    auth = lambda pw: {"auths": {registry_tls.host: {  # noqa: E731
        "auth": base64.b64encode(f"{registry_tls.user}:{pw}".encode()).decode()}}}
    podman_file = os.path.join(env["XDG_RUNTIME_DIR"], "containers", "auth.json")
    os.makedirs(os.path.dirname(podman_file))
    with open(podman_file, "w") as f:
        json.dump(auth(registry_tls.password), f)
    os.makedirs(env["DOCKER_CONFIG"])
    with open(os.path.join(env["DOCKER_CONFIG"], "config.json"), "w") as f:
        json.dump(auth(WRONG_PASSWORD), f)
    proc = push(rustimg, registry_tls, layout, "from-podman", env)
    assert proc.returncode == 0, proc.stderr

    # rustimg login then says the podman file is read first.
    proc = login(rustimg, registry_tls, registry_tls.password, env)
    assert proc.returncode == 0, proc.stderr
    assert podman_file in proc.stderr and "podman logout" in proc.stderr


def test_login_to_a_token_registry_then_push(rustimg, hello_layout, registry_token, env):
    """Bearer auth: login fetches a token with the credentials to check them."""
    layout, digest, _ = hello_layout
    proc = cli(rustimg, "login", "-u", registry_token.user, "--password-stdin", registry_token.host,
               stdin=WRONG_PASSWORD + "\n", env=env)
    assert proc.returncode == 1, proc.stderr
    assert WRONG_PASSWORD not in proc.stderr + proc.stdout
    assert not os.path.exists(env["DOCKER_CONFIG"])
    proc = cli(rustimg, "login", "-u", registry_token.user, "--password-stdin", registry_token.host,
               stdin=registry_token.password + "\n", env=env)
    assert proc.returncode == 0, proc.stderr
    ref = f"{registry_token.host}/login/token:v1"
    proc = cli(rustimg, "push", f"oci:{layout}:v1", ref, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"{ref}@{digest}"


def test_a_password_over_64_kib_is_refused_before_any_request(rustimg, hello_layout, registry_tls, env):
    """The password line is bounded; the error names the limit, never the secret."""
    layout, _, _ = hello_layout
    secret = "s3cret-do-not-leak-" + "x" * (64 * 1024)
    proc = login(rustimg, registry_tls, secret, env)
    assert proc.returncode == 2, proc.stderr
    assert "password" in proc.stderr and "64 KiB" in proc.stderr
    assert "s3cret" not in proc.stdout + proc.stderr and "xxxxxxxx" not in proc.stdout + proc.stderr
    assert not os.path.exists(env["DOCKER_CONFIG"])
    # The same bound for push --username.
    proc = cli(rustimg, "push", "--registry-ca", registry_tls.ca_file, "--username", registry_tls.user,
               f"oci:{layout}:v1", f"{registry_tls.host}/login/hello:long", stdin=secret + "\n", env=env)
    assert proc.returncode == 2, proc.stderr
    assert "64 KiB" in proc.stderr and "s3cret" not in proc.stdout + proc.stderr


def test_ctrl_c_at_the_password_prompt_turns_echo_back_on(env):
    """On a terminal the password is read with echo off; Ctrl-C while it is
    typed ends login as SIGINT does, and leaves the terminal echoing."""
    master, slave = os.openpty()
    try:
        full_env = dict(os.environ, HOME="/nonexistent-rustimg-home", **env)
        proc = subprocess.Popen([str(rustimg_bin()), "login", "--username", "alice", "127.0.0.1:5000"],
                                stdin=slave, stdout=slave, stderr=slave, env=full_env, start_new_session=True,
                                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        try:
            # Wait until the prompt has turned echo off (the pty is the child's terminal).
            deadline = time.monotonic() + 60
            while termios.tcgetattr(slave)[3] & termios.ECHO:
                assert proc.poll() is None, "login ended before asking for the password"
                assert time.monotonic() < deadline, "login never turned echo off for the password"
                if select.select([master], [], [], 0.05)[0]:
                    os.read(master, 4096)
            os.write(master, b"typed-so-far\x03")  # Ctrl-C: the terminal sends SIGINT
            assert proc.wait(timeout=60) == -signal.SIGINT
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert termios.tcgetattr(slave)[3] & termios.ECHO, "the terminal was left with echo off"
        assert not os.path.exists(env["DOCKER_CONFIG"])
    finally:
        os.close(master)
        os.close(slave)
