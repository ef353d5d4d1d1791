/* 运维: the deployment's status, failed jobs (retry, delete), the callback inbox, sync runs
   (立即同步), WeCom API errors over time (ECharts) and the audit log — each tab reads and acts
   through the Open API's resources under /console/api/v1 (admin scope). */
"use strict";
(function () {
  const { api, pages } = window.ScrmConsole;
  const BASE = "/console/api/v1";
  const TABS = ["status", "failed", "inbox", "syncs", "errors", "audit"];

  /* A page of a list: {rows, total} (console.js's paged GET). */
  const list = (path, params) => window.ScrmConsole.page(`${BASE}${path}`, params);
  const time = (value) => window.ScrmConsole.fmtTime(value, true) || "-";
  const pad = (n) => String(n).padStart(2, "0");
  function seconds(value) {
    if (value === null || value === undefined) return "-";
    if (value < 120) return `${Math.round(value)} 秒`;
    if (value < 7200) return `${Math.round(value / 60)} 分钟`;
    if (value < 172800) return `${(value / 3600).toFixed(1)} 小时`;
    return `${(value / 86400).toFixed(1)} 天`;
  }
  const shared = { methods: { time, seconds } };

  /* A filtered, paginated table: 422 field messages shown in place (fieldError). */
  function tableMixin(path) {
    return {
      data: () => ({ rows: [], total: 0, page: 1, pageSize: 50, loading: false, error: "", errors: {} }),
      mounted() { this.load(); },
      methods: {
        params() { return {}; },
        fieldError(name) { return (this.errors[name] || []).join("；"); },
        search() { this.page = 1; this.load(); },
        async load() {
          this.loading = true;
          this.error = "";
          this.errors = {};
          try {
            const found = await list(path, { ...this.params(), page: this.page, page_size: this.pageSize });
            this.rows = found.rows;
            this.total = found.total;
          } catch (error) {
            this.errors = (error.errors && error.errors.query) || {};
            this.error = Object.keys(this.errors).length ? "筛选条件有误，请检查标红的项。" : error.message;
          } finally {
            this.loading = false;
          }
        },
      },
    };
  }

  const range = (value) => (value && value.length === 2
    ? { since: new Date(value[0]).toISOString(), until: new Date(value[1]).toISOString() } : {});

  const status = {
    template: "#tpl-ops-status",
    mixins: [shared],
    data: () => ({ data: null, loading: true, error: "" }),
    mounted() { this.load(); },
    methods: {
      async load() {
        this.loading = true;
        this.error = "";
        try {
          this.data = await api(`${BASE}/status`);
        } catch (error) {
          this.error = error.message;
        } finally {
          this.loading = false;
        }
      },
      percent(value) { return `${Math.round(value * 100)}%`; },
      lastSync(run) {
        if (!run) return "从未同步";
        return `#${run.id} ${SYNC_STATUSES[run.status] || run.status}，${seconds(run.age_seconds)}前，错误 ${run.error_count} 个`;
      },
    },
  };

  const failed = {
    template: "#tpl-ops-failed",
    mixins: [shared, tableMixin("/jobs/failed")],
    data: () => ({ filters: { queue: "" }, queues: ["welcome", "callbacks", "messages", "sync", "periodic"] }),
    methods: {
      params() { return { queue: this.filters.queue }; },
      async retry(row) {
        try {
          await ElementPlus.ElMessageBox.confirm(
            `确定重试任务 ${row.function || row.id}？它将以原参数重新加入 ${row.queue} 队列执行。`, "重试失败任务",
            { confirmButtonText: "重试", cancelButtonText: "取消", type: "warning" });
        } catch (cancelled) {
          return;
        }
        await this.act(row, "POST", `/jobs/failed/${encodeURIComponent(row.id)}/retry`, "已重新加入队列");
      },
      async remove(row) {
        try {
          await ElementPlus.ElMessageBox.confirm(
            `确定删除任务 ${row.function || row.id}？删除后不会再执行。`, "删除失败任务",
            { confirmButtonText: "删除", cancelButtonText: "取消", type: "warning" });
        } catch (cancelled) {
          return;
        }
        await this.act(row, "DELETE", `/jobs/failed/${encodeURIComponent(row.id)}`, "已删除");
      },
      async act(row, method, path, done) {
        try {
          await api(BASE + path, { method });
          ElementPlus.ElMessage.success(done);
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
        }
        this.load();
      },
    },
  };

  const EVENT_STATUSES = { pending: "待处理", processed: "已处理", failed: "失败", ignored: "已忽略" };
  const inbox = {
    template: "#tpl-ops-inbox",
    mixins: [shared, tableMixin("/events")],
    data: () => ({
      filters: { event: "", change_type: "", status: "", range: null },
      statuses: EVENT_STATUSES,
      events: ["change_external_contact", "change_external_chat", "change_external_tag", "change_contact",
        "customer_acquisition", "batch_job_result", "text", "image"],
    }),
    methods: {
      params() {
        const { event, change_type, status } = this.filters;
        return { event, change_type, status, ...range(this.filters.range) };
      },
      reset() { this.filters = { event: "", change_type: "", status: "", range: null }; this.search(); },
      statusType(value) { return { processed: "success", failed: "danger", pending: "warning" }[value] || "info"; },
    },
  };

  const SYNC_STATUSES = { queued: "排队中", running: "进行中", succeeded: "成功", failed: "失败", cancelled: "已取消" };
  const SCOPE_LABELS = { staff: "成员", tags: "标签", customers: "客户", groups: "客户群" };
  const syncs = {
    template: "#tpl-ops-syncs",
    mixins: [shared, tableMixin("/syncs")],
    data: () => ({ full: false, starting: false, pageSize: 20 }),
    mounted() { this.timer = window.setInterval(() => this.refreshActive(), 5000); },
    beforeUnmount() { window.clearInterval(this.timer); },
    methods: {
      statusLabel(value) { return SYNC_STATUSES[value] || value; },
      statusType(value) { return { succeeded: "success", failed: "danger", running: "primary", queued: "warning" }[value] || "info"; },
      scopes(row) { return row.scopes.map((s) => SCOPE_LABELS[s] || s).join("、") + (row.full ? "（全量）" : ""); },
      requester(value) { return { cli: "命令行", api: "接口/后台", nightly: "每日定时" }[value] || value || "-"; },
      progress(row) {
        if (!row.stage) return "-";
        const stage = row.stages[row.stage] || {};
        const total = stage.total === null || stage.total === undefined ? "?" : stage.total;
        return `${SCOPE_LABELS[row.stage] || row.stage}：${stage.done || 0}/${total}`;
      },
      refreshActive() {
        if (!this.loading && this.rows.some((r) => r.status === "queued" || r.status === "running")) this.load();
      },
      async start() {
        this.starting = true;
        try {
          const run = await api(`${BASE}/syncs`, { method: "POST", body: { full: this.full } });
          ElementPlus.ElMessage.success(`已开始同步（#${run.id}）`);
          this.search();
        } catch (error) {
          ElementPlus.ElMessage.error(error.status === 409 ? "已有同步正在排队或进行中，请稍后再试。" : error.message);
        } finally {
          this.starting = false;
        }
      },
    },
  };

  const errors = {
    template: "#tpl-ops-errors",
    mixins: [shared],
    data: () => ({ minutes: 60, api: "", data: null, apiNames: [], loading: false, error: "", errors: {} }),
    mounted() {
      this.resize = () => this.chart && this.chart.resize();
      window.addEventListener("resize", this.resize);
      this.load();
    },
    beforeUnmount() {
      window.removeEventListener("resize", this.resize);
      if (this.chart) this.chart.dispose();
    },
    methods: {
      fieldError(name) { return (this.errors[name] || []).join("；"); },
      rate(errors, calls) { return calls ? `${((errors / calls) * 100).toFixed(1)}%` : "-"; },
      errcodes(codes) { return Object.entries(codes).map(([code, n]) => `${code}×${n}`).join("  ") || "-"; },
      async load() {
        this.loading = true;
        this.error = "";
        this.errors = {};
        try {
          const query = new URLSearchParams({ minutes: this.minutes });
          if (this.api) query.set("api", this.api);
          this.data = await api(`${BASE}/wecom-errors?${query}`);
          if (!this.api) this.apiNames = this.data.apis.map((line) => line.api);
          this.draw();
        } catch (error) {
          this.errors = (error.errors && error.errors.query) || {};
          this.error = error.message;
        } finally {
          this.loading = false;
        }
      },
      draw() {
        const points = this.data.points;
        const label = (p) => { const d = new Date(p.at); return `${pad(d.getHours())}:${pad(d.getMinutes())}`; };
        if (!this.chart) this.chart = echarts.init(this.$refs.chart);
        this.chart.setOption({
          tooltip: { trigger: "axis" },
          legend: { top: 0, left: "center", data: ["调用次数", "失败次数", "错误率"] },
          grid: { left: 48, right: 56, top: 40, bottom: 32 },
          xAxis: { type: "category", data: points.map(label) },
          yAxis: [{ type: "value", minInterval: 1, name: "次" },
            { type: "value", name: "错误率 %", min: 0, max: 100, splitLine: { show: false } }],
          series: [
            { name: "调用次数", type: "bar", data: points.map((p) => p.calls), itemStyle: { color: "#a0cfff" } },
            { name: "失败次数", type: "bar", data: points.map((p) => p.errors), itemStyle: { color: "#f56c6c" } },
            { name: "错误率", type: "line", yAxisIndex: 1, showSymbol: false, itemStyle: { color: "#e6a23c" },
              data: points.map((p) => (p.calls ? +((p.errors / p.calls) * 100).toFixed(1) : 0)) },
          ],
        }, true);
      },
    },
  };

  const ACTIONS = {
    view_customer: "查看客户", view_group: "查看客户群", edit_tags: "编辑标签", edit_stage: "修改阶段",
    edit_fields: "编辑字段", edit_remark: "修改备注", follow_up: "跟进记录", send_content: "发送内容",
    send_sop_step: "执行SOP", send_group_sop_step: "执行群SOP", send_recall: "发送召回",
    recall_contacted: "召回已联系", erase_customer: "删除客户个人信息", api_list_customers: "接口读取客户列表",
    api_view_customer: "接口查看客户", api_list_welcome_outcomes: "接口读取欢迎语结果",
    retry_job: "重试失败任务", delete_job: "删除失败任务",
  };
  const TARGET_TYPES = { customer: "客户", group: "客户群", content: "内容", sop_task: "SOP任务",
    group_sop: "群SOP", recall: "召回", job: "任务" };
  const audit = {
    template: "#tpl-ops-audit",
    mixins: [shared, tableMixin("/audit-log")],
    data: () => ({
      filters: { userid: "", action: "", target_type: "", target_id: "", range: null },
      actions: ACTIONS, targetTypes: TARGET_TYPES,
    }),
    methods: {
      params() {
        const { userid, action, target_type, target_id } = this.filters;
        return { userid, action, target_type, target_id, ...range(this.filters.range) };
      },
      reset() { this.filters = { userid: "", action: "", target_type: "", target_id: "", range: null }; this.search(); },
      actionLabel(value) { return ACTIONS[value] ? `${ACTIONS[value]}（${value}）` : value; },
      detail(value) { return value ? JSON.stringify(value) : "-"; },
    },
  };

  pages.operations = {
    template: "#tpl-operations",
    components: { "ops-status": status, "ops-failed": failed, "ops-inbox": inbox, "ops-syncs": syncs,
      "ops-errors": errors, "ops-audit": audit },
    data() {
      const wanted = window.location.hash.slice(1);
      return { tab: TABS.includes(wanted) ? wanted : "status" };
    },
    methods: {
      remember(name) { window.history.replaceState(null, "", `#${name}`); },
    },
  };
})();
