/* 报表: the follow-up report (/console/api/v1/reports/follow-up) for a date range, a department
   and a member, within the signed-in member's data scope: headline figures, a chart per member,
   tables per member and department, the customers behind a figure (…/drill, paged) and exports
   (…/export, …/drill/export). ?from=&to=&department_id=&userid=&figure= open it as the morning
   digest's link asks. */
"use strict";
(function () {
  const { page, pages, bootstrap, fmtTime } = window.ScrmConsole;
  const { initialFilters, scopeOptions, chartOf, disposeChart, download, rangeParams, loadReport } = window.ScrmReports;
  const V1 = "/console/api/v1/reports/follow-up";
  // the export's column names, with the units the page shows instead
  const FIGURES = { ...(bootstrap.figures || {}), first_reply_avg_seconds: "首次回复平均", reply_rate: "回复率" };
  const DRILLS = new Set(bootstrap.drill_figures || []);
  const HEADLINE = ["customers", "new_customers", "lost", "follow_ups", "next_overdue", "sop_pending",
    "first_reply_avg_seconds", "reply_rate"];
  const COLUMNS = ["customers", "new_customers", "lost_by_staff", "lost_by_customer", "transferred_out", "follow_ups",
    "next_due", "next_overdue", "sop_confirmed", "sop_pending", "recall_confirmed", "recall_pending", "first_replies",
    "first_reply_avg_seconds", "chats", "messages", "reply_rate", "avg_reply_minutes"];
  const TIME_LABELS = { customers: "添加时间", new_customers: "添加时间", next_overdue: "应跟进时间" };

  pages.reports = {
    template: "#tpl-reports",
    data() {
      const start = initialFilters();
      return { figures: FIGURES, headline: HEADLINE, columns: COLUMNS, days: start.days, departmentId: start.departmentId,
        userid: start.userid, staff: [], departmentTree: [], names: {}, report: null, loading: false, error: "",
        tab: "staff", drillOpen: false, drillFigure: "", drillUser: null, drillRows: [], drillTotal: 0, drillPage: 1,
        drillPageSize: 20, drillLoading: false, startFigure: start.figure };
    },
    computed: {
      drillTitle() {
        const who = this.drillUser ? this.staffName(this.drillUser) + " · " : "";
        return `${who}${FIGURES[this.drillFigure] || ""}（${this.days[0]} 至 ${this.days[1]}）`;
      },
      drillTimeLabel() { return TIME_LABELS[this.drillFigure] || "发生时间"; },
    },
    async mounted() {
      Object.assign(this, await scopeOptions());
      await this.load();
      if (this.startFigure && DRILLS.has(this.startFigure)) this.drill(this.startFigure, this.userid || null);
    },
    beforeUnmount() { disposeChart(this); },
    methods: {
      fmtTime,
      staffName(userid) { return (userid && this.names[userid]) || userid || ""; },
      drillable(key) { return DRILLS.has(key); },
      show(key, value) {
        if (value === null || value === undefined) return "—";
        if (key === "reply_rate") return `${value}%`;
        if (key === "first_reply_avg_seconds") return `${Math.round(value / 60)} 分钟`;
        return String(value);
      },
      filters() { return rangeParams(this); },
      load() { return loadReport(this, V1, this.filters()); },
      draw() {
        const rows = [...this.report.staff].sort((a, b) => b.customers - a.customers).slice(0, 20);
        if (!rows.length) return;
        const chart = chartOf(this, this.$refs.chart);
        const series = ["new_customers", "lost", "follow_ups", "next_overdue"];
        const colors = { new_customers: "#67c23a", lost: "#f56c6c", follow_ups: "#409eff", next_overdue: "#e6a23c" };
        chart.setOption({
          animation: false,
          tooltip: { trigger: "axis" },
          legend: { data: series.map((key) => FIGURES[key]), bottom: 0 },
          grid: { left: 40, right: 20, top: 20, bottom: 56 },
          xAxis: { type: "category", data: rows.map((r) => r.name || r.userid), axisLabel: { interval: 0, rotate: rows.length > 8 ? 30 : 0 } },
          yAxis: { type: "value", minInterval: 1 },
          series: series.map((key) => ({ name: FIGURES[key], type: "bar", data: rows.map((r) => r[key] || 0),
            itemStyle: { color: colors[key] } })),
        }, true);
      },
      drill(figure, userid) {
        this.drillFigure = figure;
        this.drillUser = userid;
        this.drillPage = 1;
        this.drillOpen = true;
        this.loadDrill();
      },
      drillFilters() {
        const filters = { ...this.filters(), figure: this.drillFigure };
        if (this.drillUser) filters.userid = this.drillUser;
        return filters;
      },
      async loadDrill() {
        this.drillLoading = true;
        try {
          const result = await page(`${V1}/drill`, { ...this.drillFilters(), page: this.drillPage, page_size: this.drillPageSize });
          this.drillRows = result.items;
          this.drillTotal = result.total;
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
        } finally {
          this.drillLoading = false;
        }
      },
      exportReport(command) {
        const params = { ...this.filters(), format: command === "csv" ? "csv" : "xlsx" };
        if (command === "departments") params.rows = "departments";
        download(`${V1}/export`, params);
      },
      exportDrill(format) {
        download(`${V1}/drill/export`, { ...this.drillFilters(), format });
      },
    },
  };
})();
