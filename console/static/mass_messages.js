/* 客户群发: mass messages with their figures; a message's tasks per member and its customers. */
"use strict";
(function () {
  const { api, pages } = window.ScrmConsole;
  const STATUS = { queued: "排队中", sending: "发送中", done: "已完成", failed: "失败", cancelled: "已取消" };
  const TASK = { pending: "待创建", running: "创建中", awaiting: "待成员确认", sent: "成员已发送",
                 not_sent: "成员未发送", failed: "创建失败" };
  const RECIPIENT = { sent: "已送达", waiting: "待成员发送", capped: "超出月上限", quota_exceeded: "已收到其他群发",
                      not_friend: "已非好友", refused: "企业微信拒绝", not_sent: "未发送", queued: "排队中" };
  const FIGURES = ["sent", "waiting", "capped", "quota_exceeded", "not_friend", "refused", "not_sent"];

  pages["mass-messages"] = {
    template: "#tpl-mass-messages",
    data: () => ({
      STATUS, TASK, RECIPIENT, FIGURES: FIGURES.slice(0, 4), rows: [], total: 0, page: 1, pageSize: 20,
      status: "", loading: true, error: "", creating: false, drawer: false, detail: null, detailLoading: false,
      recipients: [], recipientTotal: 0, recipientPage: 1, recipientStatus: "",
    }),
    mounted() { this.load(1); },
    beforeUnmount() { if (this.chart) this.chart.dispose(); },
    methods: {
      when(value) { return window.ScrmConsole.fmtTime(value); },
      statusType(status) {
        return { done: "success", failed: "danger", cancelled: "info", sending: "warning" }[status] || "";
      },
      fetchPage(path) { return window.ScrmConsole.page(path); },
      async load(page) {
        this.loading = true;
        this.page = page;
        try {
          const status = this.status ? `&status=${this.status}` : "";
          const result = await this.fetchPage(
            `/console/api/v1/mass-messages?page=${page}&page_size=${this.pageSize}${status}`);
          this.rows = result.rows;
          this.total = result.total;
          this.error = "";
        } catch (error) {
          this.error = error.message;
        } finally {
          this.loading = false;
        }
      },
      created(message) { this.load(1); this.open(message); },
      async open(row) {
        this.drawer = true;
        this.detailLoading = true;
        try {
          this.detail = await api(`/console/api/v1/mass-messages/${row.id}`);
          this.recipientStatus = "";
          await this.loadRecipients(1);
          this.$nextTick(() => this.draw());
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
        } finally {
          this.detailLoading = false;
        }
      },
      async loadRecipients(page) {
        this.recipientPage = page;
        const status = this.recipientStatus ? `&status=${this.recipientStatus}` : "";
        const result = await this.fetchPage(
          `/console/api/v1/mass-messages/${this.detail.id}/recipients?page=${page}&page_size=50${status}`);
        this.recipients = result.rows;
        this.recipientTotal = result.total;
      },
      draw() {
        if (!this.$refs.chart) return;
        if (this.chart) this.chart.dispose();
        this.chart = echarts.init(this.$refs.chart);
        const data = Object.entries(this.detail.recipients_by_status)
          .map(([key, value]) => ({ name: RECIPIENT[key] || key, value }));
        this.chart.setOption({
          tooltip: { trigger: "item" },
          legend: { bottom: 0, type: "scroll" },
          series: [{ type: "pie", radius: ["40%", "65%"], center: ["50%", "42%"], data }],
        });
      },
      async cancel() {
        try {
          await ElementPlus.ElMessageBox.confirm("尚未在企业微信创建的任务将被取消；已创建的任务仍由成员决定是否发送。", "取消群发",
                                                 { type: "warning", confirmButtonText: "取消未创建的任务", cancelButtonText: "返回" });
        } catch (_) {
          return;
        }
        this.detail = await api(`/console/api/v1/mass-messages/${this.detail.id}/cancel`, { method: "POST" });
        this.load(this.page);
      },
    },
  };
})();
