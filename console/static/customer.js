/* A customer's page: the sidebar's profile across every relation and the timeline
   (/console/api/v1/customers/<id>/profile and /timeline). */
"use strict";
(function () {
  const { api, pages, bootstrap } = window.ScrmConsole;
  const C = window.ScrmCustomers;
  const id = encodeURIComponent(bootstrap.external_userid || "");

  pages.customer = {
    template: "#tpl-customer",
    data: () => ({ loading: true, error: "", view: null, timeline: [], nextBefore: null }),
    mounted() { this.load(); },
    methods: {
      fmt: C.fmt, riskType: C.riskType,
      back() { window.location.href = "/console/customers"; },
      fieldValue(field) {
        if (field.value === null || field.value === undefined || field.value === "") return "—";
        return Array.isArray(field.value) ? field.value.join("、") : String(field.value);
      },
      changeText(change) {
        if (change.added || change.removed) {
          const parts = [];
          if (change.added && change.added.length) parts.push("添加 " + change.added.join("、"));
          if (change.removed && change.removed.length) parts.push("移除 " + change.removed.join("、"));
          return `${change.label}：${parts.join("；")}`;
        }
        if ("from" in change || "to" in change) return `${change.label}：${change.from ?? "空"} → ${change.to ?? "空"}`;
        return `${change.label}已修改`;
      },
      async load() {
        try {
          this.view = await api(`/console/api/v1/customers/${id}/profile`);
          await this.more(true);
        } catch (error) {
          this.error = error.status === 404 ? "没有这个客户，或你无权查看。" : error.message;
        } finally {
          this.loading = false;
        }
      },
      async more(first) {
        const before = first === true ? "" : `&before=${this.nextBefore}`;
        const page = await api(`/console/api/v1/customers/${id}/timeline?limit=20${before}`);
        this.timeline = first === true ? page.items : this.timeline.concat(page.items);
        this.nextBefore = page.next_before;
      },
    },
  };
})();
