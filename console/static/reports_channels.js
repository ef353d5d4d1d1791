/* 渠道报表: the channel report (/console/api/v1/reports/channels) for a date range, a department
   and a member, within the signed-in member's data scope: headline figures, a chart of adds and
   retention per channel code, the table, exports (…/export) and, for operators and admins, the
   cost of a channel code per month (/console/api/v1/channel-costs, PUT in fen). */
"use strict";
(function () {
  const { api, query, pages, bootstrap } = window.ScrmConsole;
  const { initialFilters, scopeOptions, chartOf, disposeChart, download, rangeParams, loadReport } = window.ScrmReports;
  const V1 = "/console/api/v1/reports/channels";
  const COSTS = "/console/api/v1/channel-costs";
  const FIGURES = {
    adds: "新增客户", welcomed: "欢迎语已发送", welcome_rate: "欢迎语送达率", eligible_7: "满7天客户",
    retained_7: "7日留存", retention_7: "7日留存率", eligible_30: "满30天客户", retained_30: "30日留存",
    retention_30: "30日留存率", staged: "进入后续阶段", staged_rate: "阶段推进率", lost: "流失客户",
    cost_fen: "成本", cost_per_add_fen: "单客成本", cost_per_retained_7_fen: "7日留存单客成本",
    cost_per_retained_30_fen: "30日留存单客成本",
  };
  const HEADLINE = ["adds", "welcome_rate", "retention_7", "retention_30", "staged", "lost", "cost_fen",
    "cost_per_retained_30_fen"];
  const COLUMNS = ["adds", "welcomed", "welcome_rate", "eligible_7", "retained_7", "retention_7", "eligible_30",
    "retained_30", "retention_30", "staged", "staged_rate", "lost", "cost_fen", "cost_per_add_fen",
    "cost_per_retained_7_fen", "cost_per_retained_30_fen"];
  // channel codes are the "channels" family: operators and admins write it (the server checks again)
  const EDITORS = new Set(["admin", "operator"]);

  pages["reports-channels"] = {
    template: "#tpl-reports-channels",
    data() {
      const start = initialFilters();
      return { figures: FIGURES, headline: HEADLINE, columns: COLUMNS, days: start.days,
        departmentId: start.departmentId, userid: start.userid, staff: [], departmentTree: [], names: {},
        report: null, loading: false, error: "", canEditCost: EDITORS.has((bootstrap.user || {}).role),
        costOpen: false, costChannel: null, costMonth: "", costYuan: 0, costSaving: false };
    },
    computed: {
      chartRows() {
        if (!this.report) return [];
        return this.report.channels.filter((r) => r.adds > 0).sort((a, b) => b.adds - a.adds).slice(0, 20);
      },
    },
    async mounted() {
      Object.assign(this, await scopeOptions());
      await this.load();
    },
    beforeUnmount() { disposeChart(this); },
    methods: {
      label(row) { return row.channel_id ? row.name : "无渠道"; },
      show(key, value) {
        if (value === null || value === undefined) return "—";
        if (key.endsWith("_fen")) return `¥${(value / 100).toFixed(2)}`;
        if (key.endsWith("_rate") || key.startsWith("retention_")) return `${value}%`;
        return String(value);
      },
      load() { return loadReport(this, V1, rangeParams(this)); },
      draw() {
        const rows = this.chartRows;
        if (!rows.length) return;
        const chart = chartOf(this, this.$refs.chart);
        const percent = (key) => ({ name: FIGURES[key], type: "line", yAxisIndex: 1, connectNulls: false,
          data: rows.map((r) => r[key]) });
        chart.setOption({
          animation: false,
          tooltip: { trigger: "axis" },
          legend: { data: [FIGURES.adds, FIGURES.retention_7, FIGURES.retention_30], bottom: 0 },
          grid: { left: 40, right: 48, top: 20, bottom: 56 },
          xAxis: { type: "category", data: rows.map((r) => this.label(r)),
            axisLabel: { interval: 0, rotate: rows.length > 8 ? 30 : 0 } },
          yAxis: [{ type: "value", minInterval: 1 }, { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }],
          series: [{ name: FIGURES.adds, type: "bar", barMaxWidth: 48, data: rows.map((r) => r.adds),
            itemStyle: { color: "#409eff" } },
            percent("retention_7"), percent("retention_30")],
        }, true);
      },
      exportReport(format) {
        download(`${V1}/export`, { ...rangeParams(this), format });
      },
      openCost(row) {
        this.costChannel = row;
        this.costMonth = this.days[1].slice(0, 7);  // the month of the range's last day
        this.costYuan = 0;
        this.costOpen = true;
        this.loadCost();
      },
      async loadCost() {
        const params = { channel_id: this.costChannel.channel_id, from_month: this.costMonth, to_month: this.costMonth };
        try {
          const rows = await api(`${COSTS}?${query(params)}`);
          this.costYuan = rows.length ? rows[0].amount_fen / 100 : 0;
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
        }
      },
      async saveCost() {
        this.costSaving = true;
        try {
          await api(`${COSTS}/${this.costChannel.channel_id}/${this.costMonth}`,
            { method: "PUT", body: { amount_fen: Math.round((this.costYuan || 0) * 100) } });
          ElementPlus.ElMessage.success("成本已保存");
          this.costOpen = false;
          await this.load();
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
        } finally {
          this.costSaving = false;
        }
      },
    },
  };
})();
