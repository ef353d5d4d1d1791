/* A group's page: the group and its members (/console/api/v1/groups/<chat_id>) and its daily
   figures (/console/api/v1/group-stats/groups?chat_id=…) as an ECharts chart. */
"use strict";
(function () {
  const { api, pages, bootstrap } = window.ScrmConsole;
  const C = window.ScrmCustomers;
  const id = encodeURIComponent(bootstrap.chat_id || "");
  const SCENES = { 1: "直接邀请", 2: "邀请链接", 3: "扫描群二维码" };

  function isoDay(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }

  function defaultDays() {
    const last = new Date(); last.setDate(last.getDate() - 1);
    const first = new Date(last); first.setDate(first.getDate() - 29);
    return [isoDay(first), isoDay(last)];
  }

  pages.group = {
    template: "#tpl-group",
    data: () => ({ loading: true, error: "", statsError: "", group: null, includeQuit: false, days: defaultDays(),
                   totals: null, names: {} }),
    async mounted() {
      api("/console/api/v1/customer-search/options")
        .then((o) => { this.names = Object.fromEntries(o.staff.map((s) => [s.userid, s.name])); })
        .catch(() => {});
      await this.loadGroup();
      this.loading = false;
      if (this.group) { await this.$nextTick(); this.loadStats(); }
    },
    beforeUnmount() { if (this.chart) this.chart.dispose(); },
    methods: {
      fmt: C.fmt,
      back() { window.location.href = "/console/groups"; },
      joinScene(scene) { return SCENES[scene] || "—"; },
      staffName(userid) { return userid ? (this.names[userid] || userid) : "—"; },
      async loadGroup() {
        try {
          this.group = await api(`/console/api/v1/groups/${id}?include_quit=${this.includeQuit}`);
        } catch (error) {
          this.error = error.status === 404 ? "没有这个客户群。" : error.message;
        }
      },
      async loadStats() {
        this.statsError = "";
        try {
          const [first, last] = this.days;
          const data = await api(`/console/api/v1/group-stats/groups?chat_id=${id}&from=${first}&to=${last}&page_size=200`);
          this.totals = data.totals;
          this.draw(first, last, data.rows);
        } catch (error) {
          this.statsError = error.message;
        }
      },
      draw(first, last, rows) {
        const byDay = Object.fromEntries(rows.map((r) => [r.day, r]));
        const days = [];
        for (let d = new Date(first + "T00:00:00"); isoDay(d) <= last; d.setDate(d.getDate() + 1)) days.push(isoDay(d));
        let members = null;
        const series = { members: [], joins: [], leaves: [] };
        for (const day of days) {
          const row = byDay[day];
          if (row) members = row.members;
          series.members.push(members);  // a day without changes keeps the last count
          series.joins.push(row ? row.joins : 0);
          series.leaves.push(row ? row.leaves : 0);
        }
        if (!this.chart) {
          this.chart = echarts.init(this.$refs.chart);
          window.addEventListener("resize", () => this.chart && this.chart.resize());
        }
        this.chart.setOption({
          tooltip: { trigger: "axis" },
          legend: { data: ["群成员", "入群", "退群"], bottom: 0 },
          grid: { left: 40, right: 40, top: 36, bottom: 56 },
          xAxis: { type: "category", data: days.map((d) => d.slice(5)) },
          yAxis: [{ type: "value", minInterval: 1, name: "人数" }, { type: "value", minInterval: 1, name: "入/退群" }],
          series: [
            { name: "群成员", type: "line", data: series.members, connectNulls: true, itemStyle: { color: "#409eff" } },
            { name: "入群", type: "bar", yAxisIndex: 1, data: series.joins, itemStyle: { color: "#67c23a" } },
            { name: "退群", type: "bar", yAxisIndex: 1, data: series.leaves, itemStyle: { color: "#f56c6c" } },
          ],
        });
      },
    },
  };
})();
