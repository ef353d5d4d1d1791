/* 工作台: the figures (el-statistic) and new customers per day for 30 days (ECharts). */
"use strict";
(function () {
  const { api, pages } = window.ScrmConsole;
  const FIGURES = [
    ["customers", "客户数"], ["active_relations", "好友关系"],
    ["groups", "客户群"], ["open_sop_tasks", "待执行SOP任务"],
  ];

  pages.dashboard = {
    template: "#tpl-dashboard",
    data: () => ({ loading: true, error: "", figures: null }),
    computed: {
      cards() {
        if (!this.figures) return [];
        return FIGURES.map(([key, title]) => ({ key, title, value: this.figures[key] }));
      },
      scopeNote() {
        return { corp: "全企业数据", department: "本部门及下级部门的客户与客户群" }[this.figures.scope] || "我负责的客户与客户群";
      },
    },
    mounted() { this.load(); },
    beforeUnmount() { if (this.chart) this.chart.dispose(); },
    methods: {
      async load() {
        try {
          this.figures = await api("/console/api/dashboard");
          this.draw(this.figures.adds_per_day);
        } catch (error) {
          this.error = error.message;
        } finally {
          this.loading = false;
        }
      },
      draw(days) {
        this.chart = echarts.init(this.$refs.chart);
        this.chart.setOption({
          tooltip: { trigger: "axis" },
          grid: { left: 40, right: 16, top: 24, bottom: 32 },
          xAxis: { type: "category", data: days.map((d) => d.date.slice(5)) },
          yAxis: { type: "value", minInterval: 1 },
          series: [{ name: "新增客户", type: "bar", data: days.map((d) => d.adds), itemStyle: { color: "#409eff" } }],
        });
        window.addEventListener("resize", () => this.chart && this.chart.resize());
      },
    },
  };
})();
