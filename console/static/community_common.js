/* Helpers shared by the 群SOP, 社群运营 and 设置 pages: paged lists (X-Pagination), a drawer
   form whose 422 field errors are shown in place on the form items, delete with confirmation,
   and the Chinese wording of the API's validation messages. window.CommunityCommon. */
"use strict";
(function () {
  const { api } = window.ScrmConsole;
  const V1 = "/console/api/v1";

  /* A query string from an object ("?…", or "" when empty); one page of a list resource:
     {items, total} — console.js's, with this module's /console/api/v1 prefix. */
  function query(params) {
    const text = window.ScrmConsole.query(params);
    return text ? "?" + text : "";
  }

  const page = (path, params) => window.ScrmConsole.page(V1 + path, params);

  /* Every page of a list resource (page_size 200), for small lists filtered in the browser. */
  async function all(path, params, limit = 25) {
    const rows = [];
    for (let number = 1; number <= limit; number += 1) {
      const { items, total } = await page(path, { ...params, page: number, page_size: 200 });
      rows.push(...items);
      if (rows.length >= total || items.length === 0) break;
    }
    return rows;
  }

  const { wording, fieldErrors } = window.ScrmConsole;  // one wording of the API's messages (console.js)

  /* Errors for paths the form shows no item for (so nothing is ever silently swallowed). */
  function unplaced(errors, shown) {
    return Object.entries(errors).filter(([path]) => !shown.some((prefix) => path === prefix))
      .map(([path, message]) => (path === "_schema" ? message : `${path}：${message}`));
  }

  /* A Vue mixin for a drawer form: `drawer`, `form`, `errors` (path → message), `saving`,
     `formError`; save(method, path, body) resolves with the reply, or false after showing the
     error (422: in place; others: above the form). */
  const formMixin = {
    data: () => ({ drawer: false, editing: null, form: {}, errors: {}, saving: false, formError: "", lastStatus: 0 }),
    methods: {
      err(path) { return this.errors[path] || ""; },
      resetErrors() { this.errors = {}; this.formError = ""; },
      async save(method, path, body) {
        this.saving = true;
        this.resetErrors();
        this.lastStatus = 0;
        try {
          return await api(V1 + path, { method, body });
        } catch (error) {
          this.lastStatus = error.status;
          if (error.status === 422) {
            this.errors = fieldErrors(error.errors);
            const shown = this.shownFields ? this.shownFields() : Object.keys(this.errors);
            const rest = unplaced(this.errors, shown);
            this.formError = rest.length ? "请修正：" + rest.join("；") : "请修正标红的字段";
          } else {
            this.formError = message(error);
          }
          return false;
        } finally {
          this.saving = false;
        }
      },
    },
  };

  /* Errors other than 422, in words an operator understands. */
  function message(error) {
    if (error.status === 409) return "已达企业微信上限：" + error.message;
    if (error.status === 502) return "企业微信未接受此操作：" + error.message;
    if (error.status === 503) return "企业微信繁忙，请稍后再试（未做任何修改）";
    if (error.status === 404) return "记录不存在或已删除";
    return error.message;
  }

  /* Confirm, then DELETE (or another method); true when done. */
  async function confirmThen(text, method, path) {
    try {
      await ElementPlus.ElMessageBox.confirm(text, "请确认", {
        type: "warning", confirmButtonText: "确定", cancelButtonText: "取消",
      });
    } catch (cancelled) {
      return false;
    }
    try {
      await api(V1 + path, { method });
      ElementPlus.ElMessage.success("已完成");
      return true;
    } catch (error) {
      ElementPlus.ElMessage.error(message(error));
      return false;
    }
  }

  function toast(text, kind = "success") { ElementPlus.ElMessage({ message: text, type: kind }); }

  const datetime = (value) => window.ScrmConsole.fmtTime(value);

  /* Tabs from the bootstrap, the active one kept in ?tab= */
  function tabState() {
    const { bootstrap } = window.ScrmConsole;
    return { tabs: bootstrap.tabs || [], tab: bootstrap.tab };
  }

  function rememberTab(name) {
    const url = new URL(window.location.href);
    url.searchParams.set("tab", name);
    window.history.replaceState(null, "", url);
  }

  window.CommunityCommon = {
    V1, api, query, page, all, fieldErrors, wording, formMixin, message, confirmThen, toast, datetime,
    tabState, rememberTab,
  };
})();
