/* 渠道活码: channel codes (/console/api/v1/channels) with their adds, QR image (preview and
   download through /console/api/channels/<id>/qr), welcome template, tags and staff. */
"use strict";
(function () {
  const { api, pages } = window.ScrmConsole;
  const { V1, crud } = window.ScrmCrud;

  const EDITABLE = ["name", "style", "remark", "skip_verify", "userids", "tag_ids", "welcome_template_id"];

  pages.channels = {
    template: "#tpl-channels",
    mixins: [crud({
      resource: `${V1}/channels`,
      query() { return `?status=${this.filters.status}`; },
      blank: () => ({ name: "", type: 1, scene: 2, style: null, remark: "", skip_verify: true, state: "", userids: [],
        tag_ids: [], welcome_template_id: null }),
      fromRow: (row) => ({ ...row, remark: row.remark || "" }),
      payload(form, editing) {
        const body = {};
        for (const key of editing ? EDITABLE : [...EDITABLE, "type", "scene"]) body[key] = form[key];
        if (form.scene !== 1) delete body.style;
        if (!body.remark) body.remark = null;
        if (form.state && (!editing || form.state !== editing.state)) body.state = form.state;
        return body;
      },
      label: (row) => row.name,
      matches(row) {
        const q = this.filters.q.trim().toLowerCase();
        if (q && ![row.name, row.remark, row.state].some((v) => (v || "").toLowerCase().includes(q))) return false;
        return !this.filters.userid || row.userids.includes(this.filters.userid);
      },
    })],
    data: () => ({ filters: { q: "", status: "active", userid: "" }, templates: [], qrOpen: false, qrRow: null }),
    computed: {
      qrSrc() { return this.qrRow ? `/console/api/channels/${this.qrRow.id}/qr` : ""; },
    },
    watch: { "filters.q"() { this.page = 1; }, "filters.userid"() { this.page = 1; } },
    created() { this.loadTemplates(); },
    methods: {
      async loadTemplates() {
        try { this.templates = await api(`${V1}/welcome-templates`); } catch (error) { this.templates = []; }
      },
      templateName(id) {
        if (!id) return "—";
        const found = this.templates.find((t) => t.id === id);
        return found ? found.name : `#${id}`;
      },
      showQr(row) { this.qrRow = row; this.qrOpen = true; },
    },
  };
})();
