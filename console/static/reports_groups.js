/* 客户群报表: the groups report (/console/api/v1/reports/groups) for a date range, an owner's
   department and an owner, within the signed-in member's data scope: headline figures, a chart of
   members and joins / leaves per day, a chart of SOP results per plan, tables per owner and per
   plan, and exports (…/groups/export). */
"use strict";
(function () {
  const { pages, bootstrap } = window.ScrmConsole;
  const { initialFilters, scopeOptions, chartOf, disposeChart, download, rangeParams, loadReport } = window.ScrmReports;
  const V1 = "/console/api/v1/reports/groups";
  const FIGURES = bootstrap.figures || {};
  const HEADLINE = ["groups", "members", "growth", "joins", "leaves", "msg_total", "sent", "failed"];
  const COLUMNS = ["groups", "members", "customers", "staff", "growth", "joins", "joins_invite", "joins_link",
    "joins_qrcode", "joins_group_code", "leaves", "leaves_self", "leaves_removed", "msg_total", "chat_has_msg",
    "member_has_msg", "executions", "sent", "waiting", "failed", "capped"];
  const SOP_COLUMNS = ["executions", "sent", "waiting", "failed", "failed_not_sent", "failed_already_received",
    "capped", "skipped"];
  const SOP_STACK = { sent: "#67c23a", waiting: "#e6a23c", failed: "#f56c6c", capped: "#909399", skipped: "#c0c4cc" };

  pages["reports-groups"] = {
    template: "#tpl-reports-groups",
    data() {
      const start = initialFilters();
      return { figures: FIGURES, headline: HEADLINE, columns: COLUMNS, sopColumns: SOP_COLUMNS, days: start.days,
        departmentId: start.departmentId, userid: start.userid, staff: [], departmentTree: [], names: {},
        report: null, loading: false, error: "", tab: "owners" };
    },
    async mounted() {
      this._sop = {};  // the second chart's holder (ScrmReports.chartOf keeps one chart per object)
      Object.assign(this, await scopeOptions());
      await this.load();
    },
    beforeUnmount() { disposeChart(this); disposeChart(this._sop); },
    methods: {
      show(value) { return value === null || value === undefined ? "—" : String(value); },
      filters() { return rangeParams(this); },
      load() { return loadReport(this, V1, this.filters(), { notFound: "没有这个群主，或不在你的数据范围内。" }); },
      draw() {
        const series = this.report.series;
        if (series.length) {
          chartOf(this, this.$refs.chart).setOption({
            animation: false,
            tooltip: { trigger: "axis" },
            legend: { data: [FIGURES.members, FIGURES.joins, FIGURES.leaves], bottom: 0 },
            grid: { left: 48, right: 48, top: 20, bottom: 56 },
            xAxis: { type: "category", data: series.map((p) => p.day) },
            yAxis: [{ type: "value", minInterval: 1, name: FIGURES.members }, { type: "value", minInterval: 1 }],
            series: [
              { name: FIGURES.members, type: "line", data: series.map((p) => p.members), itemStyle: { color: "#409eff" } },
              { name: FIGURES.joins, type: "bar", yAxisIndex: 1, data: series.map((p) => p.joins), itemStyle: { color: "#67c23a" } },
              { name: FIGURES.leaves, type: "bar", yAxisIndex: 1, data: series.map((p) => p.leaves), itemStyle: { color: "#f56c6c" } },
            ],
          }, true);
        }
        const plans = this.report.plans;
        if (!plans.length) return;
        chartOf(this._sop, this.$refs.sopChart).setOption({
          animation: false,
          tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
          legend: { data: Object.keys(SOP_STACK).map((key) => FIGURES[key]), bottom: 0 },
          grid: { left: 48, right: 20, top: 20, bottom: 56 },
          xAxis: { type: "category", data: plans.map((p) => p.name || `#${p.plan_id}`),
            axisLabel: { interval: 0, rotate: plans.length > 6 ? 30 : 0 } },
          yAxis: { type: "value", minInterval: 1 },
          series: Object.entries(SOP_STACK).map(([key, color]) => ({ name: FIGURES[key], type: "bar", stack: "sop", barMaxWidth: 56,
            data: plans.map((p) => p[key] || 0), itemStyle: { color } })),
        }, true);
      },
      exportReport(command) {
        const params = { ...this.filters(), format: command === "csv" ? "csv" : "xlsx" };
        if (command === "plans") params.rows = "plans";
        download(`${V1}/export`, params);
      },
    },
  };
})();
