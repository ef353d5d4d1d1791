"""`flask scrm admin create / set-password / list`: local administrators of the console."""
from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash

from scrm.extensions import db
from scrm.models import ConsoleAdmin, ConsoleSession
from tests.conftest import TEST_CORP_ID
from tests.console.conftest import PASSWORD, password_login


def stored(username: str) -> ConsoleAdmin | None:
    db.session.expire_all()
    return db.session.scalar(select(ConsoleAdmin).filter_by(corp_id=TEST_CORP_ID, username=username))


def test_create_with_the_password_on_stdin_stores_a_scrypt_hash(runner):
    result = runner.invoke(args=["scrm", "admin", "create", "--username", "Ops.Admin", "--password-stdin"],
                           input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "created administrator ops.admin" in result.output
    row = stored("ops.admin")
    assert row.password_hash.startswith("scrypt:") and PASSWORD not in row.password_hash
    assert check_password_hash(row.password_hash, PASSWORD)


def test_create_prompts_twice_without_stdin(runner):
    result = runner.invoke(args=["scrm", "admin", "create", "--username", "admin"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert check_password_hash(stored("admin").password_hash, PASSWORD)


def test_refusals_name_the_problem_and_store_nothing(runner):
    short = runner.invoke(args=["scrm", "admin", "create", "--username", "admin", "--password-stdin"],
                          input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    bad_name = runner.invoke(args=["scrm", "admin", "create", "--username", "a b", "--password-stdin"],
                             input=PASSWORD + "\n")
    assert bad_name.exit_code == 1 and "username must be" in bad_name.output
    assert stored("admin") is None
    runner.invoke(args=["scrm", "admin", "create", "--username", "admin", "--password-stdin"], input=PASSWORD + "\n")
    again = runner.invoke(args=["scrm", "admin", "create", "--username", "ADMIN", "--password-stdin"],
                          input=PASSWORD + "\n")
    assert again.exit_code == 1 and "exists already" in again.output


def test_set_password_changes_it_and_ends_the_admins_sessions(runner, client):
    runner.invoke(args=["scrm", "admin", "create", "--username", "admin", "--password-stdin"], input=PASSWORD + "\n")
    assert password_login(client).status_code == 302
    assert client.get("/console/api/me").status_code == 200
    result = runner.invoke(args=["scrm", "admin", "set-password", "--username", "admin", "--password-stdin"],
                           input="a whole new passphrase\n")
    assert result.exit_code == 0, result.output
    assert check_password_hash(stored("admin").password_hash, "a whole new passphrase")
    assert db.session.scalar(select(ConsoleSession.id)) is None
    assert client.get("/console/api/me").status_code == 401
    missing = runner.invoke(args=["scrm", "admin", "set-password", "--username", "nobody", "--password-stdin"],
                            input=PASSWORD + "\n")
    assert missing.exit_code == 1 and "no administrator named 'nobody'" in missing.output


def test_list_shows_every_admin_and_their_last_sign_in(runner, client):
    empty = runner.invoke(args=["scrm", "admin", "list"])
    assert "no administrators" in empty.output
    for name in ("zoe", "admin"):
        runner.invoke(args=["scrm", "admin", "create", "--username", name, "--password-stdin"], input=PASSWORD + "\n")
    password_login(client)
    lines = runner.invoke(args=["scrm", "admin", "list"]).output.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["admin", "zoe"]
    assert "last sign-in 20" in lines[0] and lines[1].endswith("last sign-in -")
