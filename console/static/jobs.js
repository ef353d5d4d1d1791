/* 任务中心: bulk jobs (批量操作) and mass messages (客户群发) with their progress; a bulk job's
   drawer shows its figures and its customers, failed ones first, with the reason. */
"use strict";
(function () {
  const { api, pages } = window.ScrmConsole;
  const KIND = { add_tags: "批量打标签", remove_tags: "批量移除标签", start_sop: "批量加入SOP", reassign: "批量在职转接" };
  const STATUS = { queued: "排队中", running: "进行中", sending: "发送中", done: "已完成", failed: "失败", cancelled: "已取消" };
  const ITEM = { pending: "待处理", waiting: "等待确认", done: "成功", failed: "失败", skipped: "跳过", cancelled: "已取消" };
  const MASS_SETTLED = ["sent", "not_friend", "quota_exceeded", "refused", "not_sent", "capped"];
  const REFRESH_MS = 5000;

  pages.jobs = {
    template: "#tpl-jobs",
    data: () => ({
      ITEM, tab: "bulk", rows: [], total: 0, page: 1, pageSize: 20, loading: true, error: "",
      drawer: false, detail: null, items: [], itemTotal: 0, itemPage: 1, itemStatus: "failed",
    }),
    mounted() {
      this.load(1);
      this.timer = window.setInterval(() => this.refresh(), REFRESH_MS);
    },
    beforeUnmount() { window.clearInterval(this.timer); },
    methods: {
      when(value) { return value ? new Date(value).toLocaleString("zh-CN", { hour12: false }) : ""; },
      live(row) { return ["queued", "running", "sending"].includes(row.status); },
      statusLabel(row) { return STATUS[row.status] || row.status; },
      statusType(status) {
        return { done: "success", failed: "danger", cancelled: "info", running: "warning", sending: "warning" }[status] || "";
      },
      titleOf(row) {
        if (this.isMass(row)) return `群发：${row.name}`;
        return `${KIND[row.kind] || row.kind} #${row.id}`;
      },
      isMass(row) { return row.recipients_by_status !== undefined; },
      progressOf(row) {
        if (!this.isMass(row)) return row.percent;
        const settled = MASS_SETTLED.reduce((sum, key) => sum + (row.recipients_by_status[key] || 0), 0);
        if (!row.recipients) return row.status === "done" ? 100 : 0;
        return Math.round((1000 * settled) / row.recipients) / 10;
      },
      progressStatus(row) {
        if (row.status === "failed") return "exception";
        if (row.status === "done") return row.failed ? "warning" : "success";
        return "";
      },
      figuresOf(row) {
        if (this.isMass(row)) {
          const by = row.recipients_by_status;
          return `客户 ${row.recipients}，已送达 ${by.sent || 0}，待成员发送 ${by.waiting || 0}`;
        }
        const waiting = row.items_by_status.waiting ? `，等待确认 ${row.items_by_status.waiting}` : "";
        return `共 ${row.total}，成功 ${row.done}，失败 ${row.failed}，跳过 ${row.skipped}${waiting}`;
      },
      paramsOf(job) {
        const p = job.params || {};
        if (job.kind === "add_tags" || job.kind === "remove_tags") return `标签：${(p.tag_names || p.tag_ids || []).join("、")}`;
        if (job.kind === "start_sop") return `SOP：${p.sop_name || p.sop_id}`;
        if (job.kind === "reassign") return `接替成员：${p.takeover_name || p.takeover_userid}`;
        return "";
      },
      fetchPage(path) { return window.ScrmConsole.page(path); },
      async load(page, quiet) {
        if (!quiet) this.loading = true;
        this.page = page;
        const base = this.tab === "bulk" ? "/console/api/v1/bulk-jobs" : "/console/api/v1/mass-messages";
        try {
          const result = await this.fetchPage(`${base}?page=${page}&page_size=${this.pageSize}`);
          this.rows = result.rows;
          this.total = result.total;
          this.error = "";
        } catch (error) {
          this.error = error.message;
        } finally {
          this.loading = false;
        }
      },
      refresh() {
        if (this.rows.some((row) => this.live(row))) this.load(this.page, true);
        if (this.drawer && this.detail && this.live(this.detail)) this.reload();
      },
      open(row) {
        if (this.isMass(row)) {
          window.location.href = "/console/mass-messages";
          return;
        }
        this.drawer = true;
        this.detail = row;
        this.items = [];
        this.itemStatus = row.failed ? "failed" : "";
        this.reload();
      },
      async reload() {
        try {
          this.detail = await api(`/console/api/v1/bulk-jobs/${this.detail.id}`);
          await this.loadItems(this.itemPage);
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
        }
      },
      async loadItems(page) {
        this.itemPage = page;
        const status = this.itemStatus ? `&status=${this.itemStatus}` : "";
        const result = await this.fetchPage(
          `/console/api/v1/bulk-jobs/${this.detail.id}/items?page=${page}&page_size=50${status}`);
        this.items = result.rows;
        this.itemTotal = result.total;
      },
      async start() {
        const job = await window.ScrmBulk.openDialog(null);
        if (job) { this.load(1); this.open(job); }
      },
      async cancel() {
        try {
          await ElementPlus.ElMessageBox.confirm("尚未处理的客户将被取消；已完成的操作不会撤回，已发起的转接仍等待客户确认。", "取消批量操作",
                                                 { type: "warning", confirmButtonText: "取消未处理的客户", cancelButtonText: "返回" });
        } catch (_) {
          return;
        }
        this.detail = await api(`/console/api/v1/bulk-jobs/${this.detail.id}/cancel`, { method: "POST" });
        this.loadItems(1);
        this.load(this.page);
      },
    },
  };
})();
