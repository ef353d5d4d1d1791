/* 成员角色: members with their role and data scope; an admin edits one in a drawer. The data and
   the changes go through the Open API (/console/api/v1/staff-roles…), whose 422 field errors are
   shown beside the fields. */
"use strict";
(function () {
  const { api, bootstrap, pages } = window.ScrmConsole;
  const label = (list, value) => (list.find((item) => item.value === value) || { label: value }).label;

  pages.roles = {
    template: "#tpl-roles",
    data: () => ({
      loading: true, error: "", members: [], keyword: "", roleFilter: "", page: 1, pageSize: 20,
      roles: bootstrap.roles, scopes: bootstrap.scopes, capabilities: bootstrap.capabilities,
      drawer: false, editing: null, form: {}, errors: {}, formError: "", saving: false,
    }),
    computed: {
      filtered() {
        const word = this.keyword.trim().toLowerCase();
        return this.members.filter((m) => (!this.roleFilter || m.role === this.roleFilter) && (!word
          || [m.name, m.userid, ...m.departments].some((text) => (text || "").toLowerCase().includes(word))));
      },
      paged() { return this.filtered.slice((this.page - 1) * this.pageSize, this.page * this.pageSize); },
    },
    watch: { keyword() { this.page = 1; }, roleFilter() { this.page = 1; } },
    mounted() { this.load(); },
    methods: {
      roleLabel(value) { return label(this.roles, value); },
      scopeLabel(value) { return label(this.scopes, value); },
      capLabel(actions) { return { readwrite: "查看、编辑", read: "查看" }[actions] || "—"; },
      fieldError(name) { return (this.errors[name] || []).join(" "); },
      async load() {
        this.loading = true;
        try {
          this.members = await api("/console/api/v1/staff-roles/members");
          this.error = "";
        } catch (error) {
          this.error = error.message;
        } finally {
          this.loading = false;
        }
      },
      edit(row) {
        this.editing = row;
        this.form = { role: row.role, data_scope: row.data_scope, can_view_mobile: row.can_view_mobile };
        this.errors = {};
        this.formError = "";
        this.drawer = true;
      },
      roleChanged(role) { this.form.data_scope = bootstrap.natural_scope[role]; },
      async save() {
        this.saving = true;
        this.errors = {};
        this.formError = "";
        try {
          await api(`/console/api/v1/staff-roles/${encodeURIComponent(this.editing.userid)}`,
                    { method: "PUT", body: this.form });
          ElementPlus.ElMessage.success("已保存");
          this.drawer = false;
          await this.load();
        } catch (error) {
          this.errors = (error.errors && error.errors.json) || {};
          if (!Object.keys(this.errors).length) this.formError = error.message;
        } finally {
          this.saving = false;
        }
      },
      async reset() {
        this.saving = true;
        try {
          await api(`/console/api/v1/staff-roles/${encodeURIComponent(this.editing.userid)}`, { method: "DELETE" });
          ElementPlus.ElMessage.success("已恢复默认角色");
          this.drawer = false;
          await this.load();
        } catch (error) {
          this.formError = error.message;
        } finally {
          this.saving = false;
        }
      },
    },
  };
})();
