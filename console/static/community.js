/* 社群运营: 群活码 (group codes: CRUD, the QR code, joins by day) and 入群欢迎语 (group welcome
   templates, at most 100 in WeCom) through /console/api/v1/group-codes and
   /console/api/v1/group-welcome-templates. */
"use strict";
(function () {
  const { pages } = window.ScrmConsole;
  const CC = window.CommunityCommon;
  const ATTACHMENTS = { image: "图片", link: "链接", miniprogram: "小程序", video: "视频", file: "文件" };
  const WELCOME_LIMIT = 100; // WeCom's per-corp limit (errcode 41055)

  /* What both tabs' lists share: every row fetched, filtered and paged in the browser. */
  function listMixin(path) {
    return {
      data: () => ({ rows: [], loading: false, loadError: "", page: 1, pageSize: 10, includeDeleted: false }),
      computed: {
        filtered() { return this.rows.filter((row) => this.matches(row)); },
        paged() { return this.filtered.slice((this.page - 1) * this.pageSize, this.page * this.pageSize); },
      },
      watch: { filters: { deep: true, handler() { this.page = 1; } } },
      mounted() { this.reload(); },
      methods: {
        async reload() {
          this.loading = true;
          this.loadError = "";
          try {
            this.rows = await CC.all(path, { include_deleted: this.includeDeleted || undefined });
          } catch (error) {
            this.loadError = CC.message(error);
          } finally {
            this.loading = false;
          }
        },
      },
    };
  }

  function contains(needle, ...values) {
    return !needle || values.some((value) => (value || "").toLowerCase().includes(needle.toLowerCase()));
  }

  const groupCodes = {
    template: "#tpl-group-codes",
    mixins: [CC.formMixin, listMixin("/group-codes")],
    data: () => ({
      filters: { name: "" }, form: {}, groupOptions: [], groupNames: {}, qrOpen: false, qrCode: null,
      statsOpen: false, statsCode: null, stats: null, statsError: "", range: null,
    }),
    created() { this.loadGroupNames(); },
    beforeUnmount() { if (this.chart) this.chart.dispose(); },
    methods: {
      matches(row) { return contains(this.filters.name, row.name, row.remark, row.state); },
      qrUrl(code) { return `/console/api/group-codes/${code.id}/qr-code`; },
      async loadGroupNames() {
        try {
          const { items } = await CC.page("/groups", { page_size: 200 });
          this.remember(items);
          this.groupOptions = items.filter((group) => group.status === "active");
        } catch (error) { /* names are a nicety: chat ids are shown instead */ }
      },
      remember(groups) {
        const names = { ...this.groupNames };
        for (const group of groups) names[group.chat_id] = group.name || group.chat_id;
        this.groupNames = names;
      },
      chatNames(code) {
        const names = code.chats.map((chat) => (this.groupNames[chat.chat_id] || chat.chat_id)
          + (chat.source === "auto_created" ? "（自动建）" : ""));
        return `${names.length} 个群：${names.join("、")}`;
      },
      async searchGroups(text) {
        try {
          const { items } = await CC.page("/groups", { name: text || undefined, status: "active", page_size: 50 });
          this.remember(items);
          const chosen = (this.form.chat_ids || []).filter((id) => !items.some((group) => group.chat_id === id))
            .map((id) => ({ chat_id: id, name: this.groupNames[id] || id }));
          this.groupOptions = [...items, ...chosen];
        } catch (error) {
          CC.toast(CC.message(error), "error");
        }
      },
      openCreate() {
        this.editing = null;
        this.form = { name: "", chat_ids: [], remark: "", state: "", auto_create_room: true, room_base_name: "",
          room_base_id: 1 };
        this.resetErrors();
        this.drawer = true;
      },
      openEdit(code) {
        this.editing = code;
        this.form = { name: code.name, chat_ids: code.chats.filter((c) => c.source === "operator").map((c) => c.chat_id),
          remark: code.remark || "", auto_create_room: code.auto_create_room,
          room_base_name: code.room_base_name || "", room_base_id: code.room_base_id || 1 };
        const known = new Set(this.groupOptions.map((group) => group.chat_id));
        for (const id of this.form.chat_ids) {
          if (!known.has(id)) this.groupOptions.push({ chat_id: id, name: this.groupNames[id] || id });
        }
        this.resetErrors();
        this.drawer = true;
      },
      body() {
        const f = this.form;
        const body = { name: f.name, chat_ids: f.chat_ids, remark: f.remark || null,
          auto_create_room: f.auto_create_room };
        if (f.auto_create_room) {
          body.room_base_name = f.room_base_name || null;
          body.room_base_id = f.room_base_id || null;
        }
        if (!this.editing && f.state) body.state = f.state;
        return body;
      },
      shownFields() {
        return ["name", "chat_ids", "remark", "state", "auto_create_room", "room_base_name", "room_base_id"];
      },
      async submit() {
        const saved = this.editing ? await this.save("PATCH", `/group-codes/${this.editing.id}`, this.body())
          : await this.save("POST", "/group-codes", this.body());
        if (saved) {
          this.drawer = false;
          CC.toast(this.editing ? "已保存" : "群活码已创建");
          this.reload();
          if (!this.editing) this.openQr(saved);
        }
      },
      async remove(code) {
        if (await CC.confirmThen(`删除群活码「${code.name}」？企业微信中的二维码将失效，已有的入群数据保留。`, "DELETE",
          `/group-codes/${code.id}`)) this.reload();
      },
      openQr(code) { this.qrCode = code; this.qrOpen = true; },
      openStats(code) {
        this.statsCode = code;
        this.stats = null;
        this.range = null;
        this.statsOpen = true;
      },
      drawChart() { this.loadStats(); },
      async loadStats() {
        this.statsError = "";
        const [since, until] = this.range || [];
        try {
          this.stats = await CC.api(`${CC.V1}/group-codes/${this.statsCode.id}/stats${CC.query({ since, until })}`);
        } catch (error) {
          this.statsError = error.status === 422 ? Object.values(CC.fieldErrors(error.errors)).join("；") : CC.message(error);
          return;
        }
        if (!this.range) this.range = [this.stats.since, this.stats.until];
        if (!this.chart) this.chart = echarts.init(this.$refs.chart);
        const days = this.stats.days;
        this.chart.setOption({
          tooltip: { trigger: "axis" }, legend: { data: ["入群", "退群"] },
          grid: { left: 40, right: 16, top: 32, bottom: 32 },
          xAxis: { type: "category", data: days.map((d) => d.date.slice(5)) },
          yAxis: { type: "value", minInterval: 1 },
          series: [
            { name: "入群", type: "bar", data: days.map((d) => d.joins), itemStyle: { color: "#409eff" } },
            { name: "退群", type: "bar", data: days.map((d) => d.leaves), itemStyle: { color: "#f56c6c" } },
          ],
        });
        this.chart.resize();
      },
    },
  };

  function utf8Bytes(text) { return new TextEncoder().encode(text || "").length; }

  const groupWelcome = {
    template: "#tpl-group-welcome",
    mixins: [CC.formMixin, listMixin("/group-welcome-templates")],
    data: () => ({ ATTACHMENTS, LIMIT: WELCOME_LIMIT, filters: { name: "" }, form: {}, refreshing: false }),
    components: { "attachments-editor": window.ScrmCrud.attachmentsEditor },
    computed: {
      activeCount() { return this.rows.filter((row) => row.status === "active").length; },
      /* The API names the one attachment's fields attachment.<field>; the editor, attachment.0.<field>. */
      attachmentErrs() {
        return Object.fromEntries(Object.entries(this.errors).filter(([path]) => path.startsWith("attachment."))
          .map(([path, text]) => [`attachment.0.${path.slice("attachment.".length)}`, text]));
      },
    },
    methods: {
      fmt: CC.datetime,
      bytes: utf8Bytes,
      matches(row) { return contains(this.filters.name, row.name, row.text); },
      openCreate() {
        this.editing = null;
        this.form = { name: "", text: "", notify: true, attachments: [] };
        this.resetErrors();
        this.drawer = true;
      },
      openEdit(row) {
        this.editing = row;
        this.form = { name: row.name, text: row.text || "", notify: row.notify,
          attachments: row.attachment ? [{ ...row.attachment }] : [] };
        this.resetErrors();
        this.drawer = true;
      },
      body() {
        const f = this.form;
        // WeCom's template holds at most one attachment: the editor shows it as a list of ≤ 1
        return { name: f.name, text: f.text || null, notify: f.notify,
          attachment: window.ScrmCrud.cleanAttachments(f.attachments)[0] || null };
      },
      shownFields() {
        return ["name", "text", "notify", "attachment",
          ...Object.keys(this.errors).filter((path) => path.startsWith("attachment."))];
      },
      async submit() {
        const saved = this.editing
          ? await this.save("PATCH", `/group-welcome-templates/${this.editing.id}`, this.body())
          : await this.save("POST", "/group-welcome-templates", this.body());
        if (saved) {
          this.drawer = false;
          CC.toast(this.editing ? "已保存" : "入群欢迎语已创建");
          this.reload();
        } else if (this.lastStatus === 409) {
          this.formError = `企业微信最多保存 ${WELCOME_LIMIT} 个入群欢迎语模板，已达上限：请先删除不再使用的模板，再新建。`;
        }
      },
      async remove(row) {
        if (await CC.confirmThen(`删除入群欢迎语「${row.name}」？企业微信中的模板将一并删除。`, "DELETE",
          `/group-welcome-templates/${row.id}`)) this.reload();
      },
      async refreshAll() {
        this.refreshing = true;
        try {
          const result = await CC.api(`${CC.V1}/group-welcome-templates/refresh`, { method: "POST" });
          CC.toast(`已核对 ${result.checked} 个模板，其中 ${result.deleted} 个已在企业微信中删除`);
          this.reload();
        } catch (error) {
          CC.toast(CC.message(error), "error");
        } finally {
          this.refreshing = false;
        }
      },
    },
  };

  pages.community = {
    template: "#tpl-community",
    components: { "group-codes": groupCodes, "group-welcome": groupWelcome },
    data: () => CC.tabState(),
    methods: { remember: CC.rememberTab },
  };
})();
