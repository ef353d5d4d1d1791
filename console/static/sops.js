/* 客户SOP: plans and their steps (/console/api/v1/sops), pause / resume, the execution calendar
   (GET .../sops/<id>/tasks by due day, el-calendar) and the results (GET .../sops/<id>/results:
   by status, per step as an ECharts bar chart, failure and skip reasons). */
"use strict";
(function () {
  const { api, pages } = window.ScrmConsole;
  const { V1, crud, cleanAttachments, getPage, STATUS_LABELS } = window.ScrmCrud;
  const CALENDAR_PAGES = 10; // × 200 tasks: a month's executions shown on the calendar
  const STEP_STATUSES = ["sent", "awaiting", "pending", "failed", "skipped", "cancelled"];
  const COLORS = { sent: "#67c23a", awaiting: "#e6a23c", pending: "#909399", failed: "#f56c6c", skipped: "#c0c4cc",
    cancelled: "#dcdfe6" };

  const blankStep = () => ({ name: "", anchor: "added", date_key: "", yearly: false, timing: "minutes",
    delay_minutes: 120, day_offset: 1, at_time: "09:00", text: "", attachments: [], delivery: "mass_send" });

  function stepIn(step) {
    const out = { name: step.name || null, anchor: step.anchor, delivery: step.delivery, text: step.text || null,
      attachments: cleanAttachments(step.attachments) };
    if (step.id) out.id = step.id;
    if (step.anchor === "date") {
      Object.assign(out, { date_key: step.date_key || null, yearly: step.yearly, day_offset: step.day_offset,
        at_time: step.at_time || null });
    } else if (step.timing === "minutes") {
      out.delay_minutes = step.delay_minutes;
    } else {
      Object.assign(out, { day_offset: step.day_offset, at_time: step.at_time || null });
    }
    return out;
  }

  function localDay(iso) {
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  pages.sops = {
    template: "#tpl-sops",
    components: { "attachments-editor": window.ScrmCrud.attachmentsEditor },
    mixins: [crud({
      resource: `${V1}/sops`,
      blank: () => ({ name: "", conditions: { channel_ids: [], tag_ids: [], userids: [] }, steps: [blankStep()],
        paused: false }),
      fromRow: (row) => ({
        name: row.name,
        conditions: { channel_ids: [], tag_ids: [], userids: [], ...row.conditions },
        steps: row.steps.map((s) => ({ ...blankStep(), ...s, name: s.name || "", date_key: s.date_key || "",
          text: s.text || "", timing: s.delay_minutes !== null && s.delay_minutes !== undefined ? "minutes" : "days",
          day_offset: s.day_offset ?? 1, at_time: s.at_time || "09:00", delay_minutes: s.delay_minutes ?? 120 })),
      }),
      payload(form, editing) {
        const body = { name: form.name, conditions: form.conditions, steps: form.steps.map(stepIn) };
        if (!editing) body.paused = form.paused;
        return body;
      },
      label: (row) => row.name,
      matches(row) {
        const q = this.filters.q.trim().toLowerCase();
        if (q && !row.name.toLowerCase().includes(q)) return false;
        return !this.filters.status || row.status === this.filters.status;
      },
    })],
    data: () => ({
      filters: { q: "", status: "" }, channels: [],
      detailOpen: false, detail: null, detailTab: "calendar", calendarDate: new Date(), tasks: [],
      calendarLoading: false, calendarError: "", selectedDay: "", results: null,
    }),
    computed: {
      dayCounts() {
        const counts = {};
        for (const task of this.tasks) {
          const day = localDay(task.due_at);
          counts[day] = counts[day] || { total: 0, failed: 0 };
          counts[day].total += 1;
          if (task.status === "failed") counts[day].failed += 1;
        }
        return counts;
      },
      dayTasks() { return this.tasks.filter((t) => localDay(t.due_at) === this.selectedDay); },
      resultCards() {
        const by = (this.results && this.results.by_status) || {};
        return [{ key: "customers", title: "客户", value: this.results.customers },
          ...["sent", "awaiting", "pending", "failed", "skipped"].map((k) => ({ key: k, title: STATUS_LABELS[k], value: by[k] || 0 }))];
      },
    },
    watch: {
      "filters.q"() { this.page = 1; },
      "filters.status"() { this.page = 1; },
      calendarDate(now, before) {
        if (!before || now.getMonth() !== before.getMonth() || now.getFullYear() !== before.getFullYear()) this.loadTasks();
      },
      detailTab(tab) { if (tab === "results") this.loadResults(); },
    },
    created() { this.loadChannels(); },
    beforeUnmount() { if (this.chart) this.chart.dispose(); },
    methods: {
      async loadChannels() {
        try { this.channels = await api(`${V1}/channels?status=active`); } catch (error) { this.channels = []; }
      },
      conditionText(c) {
        const parts = [];
        if (c.channel_ids && c.channel_ids.length) parts.push(`渠道 ${c.channel_ids.length} 个`);
        if (c.tag_ids && c.tag_ids.length) parts.push("标签：" + c.tag_ids.map(this.tagName).join("、"));
        if (c.userids && c.userids.length) parts.push("员工：" + c.userids.map(this.staffName).join("、"));
        return parts.join("；") || "所有新客户";
      },
      deliveryLabel(d) { return { mass_send: "群发助手", reminder: "提醒员工" }[d] || d; },
      addStep() { this.form.steps.push(blankStep()); },
      async toggle(row) {
        try {
          await api(`${V1}/sops/${row.id}/${row.status === "paused" ? "resume" : "pause"}`, { method: "POST" });
          ElementPlus.ElMessage.success(row.status === "paused" ? "已恢复" : "已暂停");
          await this.load();
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
        }
      },
      openDetail(row) {
        this.detail = row;
        this.detailTab = "calendar";
        this.results = null;
        this.selectedDay = localDay(new Date().toISOString());
        this.detailOpen = true;
        this.loadTasks();
      },
      pickDay(day) { this.selectedDay = day; },
      async loadTasks() {
        if (!this.detail) return;
        const d = this.calendarDate;
        const since = new Date(d.getFullYear(), d.getMonth(), 1 - 7);
        const until = new Date(d.getFullYear(), d.getMonth() + 1, 1 + 7);
        this.calendarLoading = true;
        this.calendarError = "";
        try {
          const tasks = [];
          for (let page = 1; page <= CALENDAR_PAGES; page += 1) {
            const { items, total } = await getPage(`${V1}/sops/${this.detail.id}/tasks`,
              { since: since.toISOString(), until: until.toISOString(), page, page_size: 200 });
            tasks.push(...items);
            if (tasks.length >= total || !items.length) break;
          }
          this.tasks = tasks;
        } catch (error) {
          this.calendarError = error.message;
        } finally {
          this.calendarLoading = false;
        }
      },
      async loadResults() {
        try {
          this.results = await api(`${V1}/sops/${this.detail.id}/results`);
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
          return;
        }
        await this.$nextTick();
        this.drawResults();
      },
      drawResults() {
        if (!this.$refs.resultChart) return;
        if (this.chart) this.chart.dispose();
        this.chart = echarts.init(this.$refs.resultChart);
        const steps = this.results.steps;
        this.chart.setOption({
          tooltip: { trigger: "axis" }, legend: { top: 0 },
          grid: { left: 40, right: 16, top: 36, bottom: 32 },
          xAxis: { type: "category", data: steps.map((s) => s.name || `第${(s.position ?? 0) + 1}步`) },
          yAxis: { type: "value", minInterval: 1 },
          series: STEP_STATUSES.map((status) => ({ name: STATUS_LABELS[status], type: "bar", stack: "all",
            itemStyle: { color: COLORS[status] }, data: steps.map((s) => s.by_status[status] || 0) })),
        });
      },
    },
  };
})();
