/* 销售漏斗: the funnel report (/console/api/v1/reports/funnel) for a date range, a department, a
   member and a channel code, within the signed-in member's data scope: a card and a funnel per
   stage, the stages' customers over the range (stacked area), tables per member and per channel,
   exports (…/funnel/export). ?from=&to=&department_id=&userid=&channel= open it pre-filtered. */
"use strict";
(function () {
  const { pages } = window.ScrmConsole;
  const { initialFilters, scopeOptions, chartOf, disposeChart, download, rangeParams, loadReport } = window.ScrmReports;
  const V1 = "/console/api/v1/reports/funnel";
  const COLORS = ["#409eff", "#67c23a", "#e6a23c", "#f56c6c", "#909399", "#9b59b6", "#1abc9c", "#34495e"];

  pages["reports-funnel"] = {
    template: "#tpl-reports-funnel",
    data() {
      const start = initialFilters();
      return { days: start.days, departmentId: start.departmentId, userid: start.userid,
        channel: new URLSearchParams(window.location.search).get("channel") || "", channelOptions: [],
        staff: [], departmentTree: [], names: {}, report: null, loading: false, error: "", tab: "staff" };
    },
    created() { this._charts = { funnel: {}, trend: {} }; },
    async mounted() {
      Object.assign(this, await scopeOptions());
      await this.load();
    },
    beforeUnmount() { disposeChart(this._charts.funnel); disposeChart(this._charts.trend); },
    methods: {
      pct(value) { return value === null || value === undefined ? "—" : `${Math.round(value * 1000) / 10}%`; },
      filters() { return { ...rangeParams(this), channel: this.channel || "" }; },
      load() { return loadReport(this, V1, this.filters(), { received: (report) => { if (!this.channel) this.channelOptions = report.channels; } }); },
      draw() {
        const report = this.report;
        if (!report.stages.length) return;
        const color = (i) => COLORS[i % COLORS.length];
        chartOf(this._charts.funnel, this.$refs.funnel).setOption({
          animation: false,
          tooltip: { trigger: "item", formatter: (p) => `${p.name}：${p.value}` },
          series: [{ type: "funnel", sort: "none", left: 10, right: 10, top: 10, bottom: 10, minSize: "12%",
            label: { show: true, position: "inside", formatter: (p) => `${p.name} ${p.value}` },
            data: report.stages.map((st, i) => ({ name: st.name, value: st.customers, itemStyle: { color: color(i) } })) }],
        }, true);
        const unit = report.granularity === "week" ? "（按周）" : "";
        chartOf(this._charts.trend, this.$refs.trend).setOption({
          animation: false,
          title: { text: `各阶段客户数${unit}`, left: "center", textStyle: { fontSize: 13, fontWeight: "normal" } },
          tooltip: { trigger: "axis" },
          legend: { type: "scroll", data: report.stages.map((st) => st.name), bottom: 0 },
          grid: { left: 16, right: 20, top: 36, bottom: 36, containLabel: true },  // axis labels clear of the legend
          xAxis: { type: "category", boundaryGap: false, data: report.series.map((p) => p.day) },
          yAxis: { type: "value", minInterval: 1 },
          series: report.stages.map((st, i) => ({ name: st.name, type: "line", stack: "stages", areaStyle: {},
            symbol: "none", itemStyle: { color: color(i) }, data: report.series.map((p) => p.customers[i]) })),
        }, true);
      },
      exportReport(command) {
        const [rows, format] = command.split(":");
        download(`${V1}/export`, { ...this.filters(), rows, format });
      },
    },
  };
})();
