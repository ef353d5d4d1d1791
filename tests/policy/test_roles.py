"""Roles: the defaults from WeCom's department leaders, the department tree, the Open API for
roles (admin only, 422 field messages), the CLI and the migration's rename."""
from __future__ import annotations

from sqlalchemy import select

from scrm.extensions import db
from scrm.models import AuditLog, StaffRole
from scrm.services import policy
from scrm.services.tokens import create_token
from tests.conftest import TEST_CORP_ID
from tests.policy.conftest import IN_A


def test_defaults_come_from_department_leaders(corp):
    manager = policy.role_of(TEST_CORP_ID, "mgr_a")
    assert (manager.role, manager.scope, manager.is_default) == ("manager", "department", True)
    sales = policy.role_of(TEST_CORP_ID, "sales_a1")
    assert (sales.role, sales.scope, sales.is_default) == ("sales", "self", True)
    assert policy.role_of(TEST_CORP_ID, "op").is_default is False


def test_department_scope_is_the_members_departments_and_those_below(corp):
    assert policy.visible_userids(TEST_CORP_ID, "mgr_a", "department") == IN_A | {"mgr_a"}
    assert policy.visible_userids(TEST_CORP_ID, "mgr_b", "department") == {"mgr_b", "sales_b"}
    assert policy.visible_userids(TEST_CORP_ID, "sales_a1", "department") == {"sales_a1"}  # A1 has nothing below
    assert policy.visible_userids(TEST_CORP_ID, "sales_a", "self") == {"sales_a"}
    assert policy.visible_userids(TEST_CORP_ID, "op", "corp") is None
    everyone = policy.visible_userids(TEST_CORP_ID, "boss", "department")  # 总部: the whole tree
    assert {"sales_a1", "sales_b", "mgr_b"} <= everyone


def test_the_roles_api_validates_with_field_messages(client, corp):
    headers = {"Authorization": f"Bearer {create_token('root', TEST_CORP_ID, scope='admin')}"}
    bad = client.put("/api/v1/staff-roles/sales_a", json={"role": "leader", "data_scope": "team"}, headers=headers)
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]["json"]) == {"role", "data_scope"}
    admin_self = client.put("/api/v1/staff-roles/sales_a", json={"role": "admin", "data_scope": "self"},
                            headers=headers)
    assert admin_self.status_code == 422 and "data_scope" in admin_self.get_json()["errors"]["json"]
    assert client.put("/api/v1/staff-roles/nobody", json={"role": "sales"}, headers=headers).status_code == 404
    ok = client.put("/api/v1/staff-roles/sales_a", json={"role": "manager"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["data_scope"] == "department"
    members = {m["userid"]: m for m in client.get("/api/v1/staff-roles/members", headers=headers).get_json()}
    assert (members["sales_a"]["role"], members["sales_a"]["is_default"]) == ("manager", False)
    assert (members["mgr_b"]["role"], members["mgr_b"]["is_default"], members["mgr_b"]["leader"]) == (
        "manager", True, True)
    assert members["sales_a1"]["departments"] == ["A1"]
    assert db.session.scalar(select(AuditLog.action).filter_by(target_id="sales_a")) == "set_role"


def test_a_write_token_cannot_change_roles(client, corp):
    headers = {"Authorization": f"Bearer {create_token('ops', TEST_CORP_ID, scope='write')}"}
    assert client.put("/api/v1/staff-roles/sales_a", json={"role": "admin"}, headers=headers).status_code == 403


def test_the_cli_sets_lists_and_unsets_roles(runner, corp):
    result = runner.invoke(args=["scrm", "role", "set", "sales_b", "--role", "operator", "--corp", TEST_CORP_ID])
    assert result.exit_code == 0, result.output
    assert policy.role_of(TEST_CORP_ID, "sales_b").scope == "corp"
    refused = runner.invoke(args=["scrm", "role", "set", "sales_b", "--role", "admin", "--scope", "self",
                                  "--corp", TEST_CORP_ID])
    assert refused.exit_code != 0 and "whole corp" in refused.output
    listed = runner.invoke(args=["scrm", "role", "list", "--corp", TEST_CORP_ID]).output
    assert "sales_b\toperator\tcorp\n" in listed and "mgr_a\tmanager\tdepartment  默认" in listed
    assert runner.invoke(args=["scrm", "role", "unset", "sales_b", "--corp", TEST_CORP_ID]).exit_code == 0
    assert policy.role_of(TEST_CORP_ID, "sales_b").is_default


def test_the_migration_renames_leader_to_manager(app):
    import importlib

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    db.session.add(StaffRole(corp_id=TEST_CORP_ID, userid="old", role="leader", data_scope="department"))
    db.session.commit()
    migration = importlib.import_module("migrations.versions.0016_roles_and_scopes")
    with db.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.upgrade()
    db.session.expire_all()
    assert db.session.scalar(select(StaffRole.role).filter_by(userid="old")) == "manager"
