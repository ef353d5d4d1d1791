/* 流失与召回: the churn and recall report (/console/api/v1/reports/churn) for a date range, a
   department and a member, within the signed-in member's data scope: headline figures, losses per
   month by kind and recalls per playbook (ECharts), tables per member, channel, month and
   playbook, and exports (…/churn/export). The column names come from the server
   (bootstrap.labels, the export's own). */
"use strict";
(function () {
  const { pages, bootstrap } = window.ScrmConsole;
  const { initialFilters, scopeOptions, chartOf, disposeChart, download, rangeParams, loadReport } = window.ScrmReports;
  const V1 = "/console/api/v1/reports/churn";
  const LABELS = bootstrap.labels || {};
  const RECALL_LABELS = bootstrap.recall_labels || {};
  const FLOWS = ["lost", "lost_by_staff", "lost_by_customer", "lost_other", "entered_active", "entered_cooling",
    "entered_dormant", "entered_lost"];
  const COLUMNS = [...FLOWS, "risk_active", "risk_cooling", "risk_dormant", "risk_lost", "at_risk"];
  const KINDS = { lost_by_staff: "#e6a23c", lost_by_customer: "#f56c6c", lost_other: "#909399" };

  function percent(rate) { return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`; }

  pages["reports-churn"] = {
    template: "#tpl-reports-churn",
    data() {
      const start = initialFilters();
      return { labels: LABELS, recallLabels: RECALL_LABELS, columns: COLUMNS, flowColumns: FLOWS,
        recallColumns: ["sent", "confirmed", "re_engaged", "expired", "rate"], days: start.days,
        departmentId: start.departmentId, userid: start.userid, staff: [], departmentTree: [], names: {},
        report: null, loading: false, error: "", tab: "staff" };
    },
    computed: {
      headline() {
        if (!this.report) return [];
        const t = this.report.totals, r = this.report.recall_totals;
        return [
          { key: "lost", label: LABELS.lost, value: t.lost },
          { key: "lost_by_customer", label: LABELS.lost_by_customer, value: t.lost_by_customer },
          { key: "lost_by_staff", label: LABELS.lost_by_staff, value: t.lost_by_staff },
          { key: "entered_lost", label: LABELS.entered_lost, value: t.entered_lost },
          { key: "at_risk", label: LABELS.at_risk, value: t.at_risk },
          { key: "risk_lost", label: LABELS.risk_lost, value: t.risk_lost },
          { key: "recall_sent", label: RECALL_LABELS.sent, value: r.sent },
          { key: "recall_rate", label: RECALL_LABELS.rate, value: percent(r.rate) },
        ];
      },
    },
    created() { this._month = {}; this._recall = {}; },
    async mounted() {
      Object.assign(this, await scopeOptions());
      await this.load();
    },
    beforeUnmount() { disposeChart(this._month); disposeChart(this._recall); },
    methods: {
      percent,
      channelName(row) { return row.channel_name || row.state || "（无渠道）"; },
      filters() { return rangeParams(this); },
      load() { return loadReport(this, V1, this.filters()); },
      draw() {
        const months = this.report.months;
        chartOf(this._month, this.$refs.monthChart).setOption({
          animation: false,
          tooltip: { trigger: "axis" },
          legend: { data: Object.keys(KINDS).map((key) => LABELS[key]), bottom: 0 },
          grid: { left: 40, right: 20, top: 20, bottom: 56 },
          xAxis: { type: "category", data: months.map((m) => m.month) },
          yAxis: { type: "value", minInterval: 1 },
          series: Object.entries(KINDS).map(([key, color]) => ({ name: LABELS[key], type: "bar", stack: "lost",
            data: months.map((m) => m[key] || 0), itemStyle: { color } })),
        }, true);
        const playbooks = this.report.playbooks;
        if (!playbooks.length) return;
        chartOf(this._recall, this.$refs.recallChart).setOption({
          animation: false,
          tooltip: { trigger: "axis" },
          legend: { data: [RECALL_LABELS.sent, RECALL_LABELS.re_engaged], bottom: 0 },
          grid: { left: 40, right: 20, top: 20, bottom: 56 },
          xAxis: { type: "category", data: playbooks.map((p) => p.name || `#${p.playbook_id}`) },
          yAxis: { type: "value", minInterval: 1 },
          series: [
            { name: RECALL_LABELS.sent, type: "bar", data: playbooks.map((p) => p.sent), itemStyle: { color: "#409eff" } },
            { name: RECALL_LABELS.re_engaged, type: "bar", data: playbooks.map((p) => p.re_engaged),
              itemStyle: { color: "#67c23a" } },
          ],
        }, true);
      },
      exportReport(command) {
        const [rows, format] = command.split(":");
        download(`${V1}/export`, { ...this.filters(), rows, format });
      },
    },
  };
})();
