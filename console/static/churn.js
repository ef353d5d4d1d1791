/* 流失与召回: recall playbooks (/console/api/v1/recall-playbooks: CRUD, pause / resume, each
   one's recall rate per month as an ECharts chart) and the churn alerts list
   (/console/api/v1/churn/alerts, filtered and paginated by the API). */
"use strict";
(function () {
  const { api, pages } = window.ScrmConsole;
  const { V1, crud, cleanAttachments, getPage } = window.ScrmCrud;
  const TRIGGERS = { cooling: "降温", dormant: "沉睡", lost: "流失", deleted_by_customer: "客户删除员工" };
  const ACTIONS = { mass_send: "群发助手", reminder: "提醒员工", contact: "其他方式联系" };

  pages.churn = {
    template: "#tpl-churn",
    components: { "attachments-editor": window.ScrmCrud.attachmentsEditor },
    mixins: [crud({
      resource: `${V1}/recall-playbooks`,
      blank: () => ({ name: "", trigger: "dormant", action: "reminder", segment: { tag_ids: [], stage_ids: [] }, text: "",
        attachments: [], priority: 100, cooldown_days: null }),
      fromRow: (row) => ({ ...row, text: row.text || "", segment: { tag_ids: [], stage_ids: [], ...row.segment } }),
      payload(form) {
        const body = { name: form.name, trigger: form.trigger, action: form.action, segment: form.segment,
          text: form.text || null, priority: form.priority, cooldown_days: form.cooldown_days || null };
        body.attachments = form.action === "contact" ? [] : cleanAttachments(form.attachments);
        return body;
      },
      label: (row) => row.name,
      matches(row) { return !this.filters.trigger || row.trigger === this.filters.trigger; },
    })],
    data: () => ({
      tab: "playbooks", filters: { trigger: "" }, triggers: TRIGGERS, actions: ACTIONS, stages: [],
      picked: null, stats: null,
      alertKinds: { customer_deleted: "客户删除员工", dormant: "客户沉睡", anomaly: "异常流失" },
      alertStatuses: { pending: "待发送", sending: "发送中", sent: "已发送", failed: "失败" },
      alertFilters: { kind: "", status: "", about: "", range: null },
      overviewError: "",
      alerts: [], alertTotal: 0, alertPage: 1, alertsLoading: false, alertError: "",
    }),
    computed: {
      rateText() {
        return this.stats && this.stats.recall_rate !== null ? `${(this.stats.recall_rate * 100).toFixed(1)}%` : "—";
      },
    },
    watch: { "filters.trigger"() { this.page = 1; }, tab(tab) {
      if (tab === "alerts" && !this.alerts.length) this.loadAlerts(1);
      if (tab === "overview") this.$nextTick(() => this.loadOverview());
    } },
    created() { this.loadStages(); },
    beforeUnmount() {
      if (this.chart) this.chart.dispose();
      if (this.overviewChart) this.overviewChart.dispose();
    },
    methods: {
      async loadStages() {
        try { this.stages = await api(`${V1}/funnel-stages`); } catch (error) { this.stages = []; }
      },
      afterLoad() { if (!this.picked && this.rows.length) this.pick(this.rows[0]); },
      fitAction() {
        if (this.form.trigger === "deleted_by_customer") this.form.action = "contact";
        else if (this.form.action === "contact") this.form.action = "reminder";
      },
      async toggle(row) {
        try {
          await api(`${V1}/recall-playbooks/${row.id}/${row.status === "paused" ? "resume" : "pause"}`, { method: "POST" });
          ElementPlus.ElMessage.success(row.status === "paused" ? "已恢复" : "已暂停");
          await this.load();
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
        }
      },
      async pick(row) {
        if (!row) return;
        this.picked = row;
        try {
          this.stats = await api(`${V1}/recall-playbooks/${row.id}/stats`);
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
          return;
        }
        await this.$nextTick();
        this.draw();
      },
      draw() {
        if (!this.chart) {
          this.chart = echarts.init(this.$refs.chart);
          window.addEventListener("resize", () => this.chart && this.chart.resize());
        }
        const months = this.stats.by_month;
        this.chart.setOption({
          tooltip: { trigger: "axis" }, legend: { top: 0 },
          grid: { left: 40, right: 48, top: 36, bottom: 32 },
          xAxis: { type: "category", data: months.map((m) => m.month) },
          yAxis: [{ type: "value", minInterval: 1, name: "次数" },
            { type: "value", min: 0, max: 100, name: "召回率 %", axisLabel: { formatter: "{value}%" } }],
          series: [
            { name: "已发送", type: "bar", data: months.map((m) => m.sent), itemStyle: { color: "#409eff" } },
            { name: "召回成功", type: "bar", data: months.map((m) => m.won), itemStyle: { color: "#67c23a" } },
            { name: "召回率", type: "line", yAxisIndex: 1, itemStyle: { color: "#e6a23c" },
              data: months.map((m) => (m.recall_rate === null ? null : +(m.recall_rate * 100).toFixed(1))) },
          ],
        }, true);
      },
      /* Relations ended and relations gone dormant or lost, per month (GET .../churn/by-month). */
      async loadOverview() {
        let report;
        try {
          report = await api(`${V1}/churn/by-month`);
        } catch (error) {
          this.overviewError = error.message;
          return;
        }
        if (!this.overviewChart) this.overviewChart = echarts.init(this.$refs.overviewChart);
        const rows = report.rows;
        const series = [["deleted_by_customer", "客户删除员工", "#f56c6c"], ["deleted_by_staff", "员工删除客户", "#e6a23c"],
          ["became_dormant", "转为沉睡", "#909399"], ["became_lost", "转为流失", "#303133"]];
        this.overviewChart.setOption({
          tooltip: { trigger: "axis" }, legend: { top: 0 },
          grid: { left: 40, right: 16, top: 36, bottom: 32 },
          xAxis: { type: "category", data: rows.map((r) => r.month) },
          yAxis: { type: "value", minInterval: 1 },
          series: series.map(([key, name, color]) => ({ name, type: "bar", itemStyle: { color },
            data: rows.map((r) => r[key]) })),
        }, true);
        this.overviewChart.resize();
      },
      describe(row) {
        if (row.kind === "anomaly" && row.data) return `当日 ${row.data.count} 人（日均 ${row.data.average}）`;
        return row.day || "";
      },
      async loadAlerts(page) {
        this.alertPage = page || this.alertPage;
        this.alertsLoading = true;
        this.alertError = "";
        const f = this.alertFilters;
        try {
          const { items, total } = await getPage(`${V1}/churn/alerts`, { kind: f.kind, status: f.status, about: f.about,
            from: f.range ? f.range[0] : "", to: f.range ? f.range[1] : "", page: this.alertPage, page_size: 20 });
          this.alerts = items;
          this.alertTotal = total;
        } catch (error) {
          this.alertError = error.message;
        } finally {
          this.alertsLoading = false;
        }
      },
    },
  };
})();
