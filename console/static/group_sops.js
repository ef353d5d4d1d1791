/* 群SOP: the plans (CRUD, pause/resume), the execution calendar per plan and per group, and a
   plan's results — all through /console/api/v1/group-sops and /groups/<chat_id>/sop-calendar. */
"use strict";
(function () {
  const { pages } = window.ScrmConsole;
  const CC = window.CommunityCommon;

  const KINDS = { once: "一次", daily: "每天", weekly: "每周", monthly: "每月", group_created: "建群后（系列）",
    member_joined: "新成员入群后（系列）" };
  const DELIVERIES = { mass_send: "群发（群主确认）", reminder: "提醒群主发送" };
  const WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
  const STATUSES = { pending: "待执行", running: "执行中", awaiting: "等待群主", sent: "已发送", failed: "失败",
    skipped: "已跳过", cancelled: "已取消" };
  const TAG_TYPES = { sent: "success", awaiting: "warning", failed: "danger", skipped: "info", cancelled: "info",
    pending: "primary", running: "primary" };
  const RESULTS = { sent: "已发送", not_sent_yet: "尚未发送", not_sent: "未确认发送", already_received: "该群已收到群发",
    not_owner: "发送人已非群主", owner_left: "群主已离职", dismissed: "群已解散", monthly_cap: "超出本月群发上限",
    member_left: "成员已退群", no_longer_target: "已不在目标范围", stale: "已过期", reminded: "已提醒",
    fail_list: "发送失败", error: "出错", cancelled: "已取消" };
  const constants = { KINDS, DELIVERIES, WEEKDAYS, STATUSES, TAG_TYPES, RESULTS };
  const RELATIVE = ["group_created", "member_joined"];

  function blankStep() {
    return { id: undefined, name: "", text: "", timing: "delay", delay_minutes: 0, day_offset: 0, at_time: "",
      attachments: [] };
  }

  function blankForm() {
    return {
      name: "", delivery: "mass_send", paused: false,
      targets: { owners: [], name_contains: "", label_ids: [], group_code_ids: [], chat_ids: [] },
      schedule: { kind: "daily", at: "", at_time: "09:00", weekdays: [], month_days: [], start_date: "", end_date: "" },
      steps: [blankStep()],
    };
  }

  function isoDay(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }

  /* The calendar of executions from `source` (a plan's or a group's), one month at a time. */
  const executionCalendar = {
    template: "#tpl-execution-calendar",
    props: { source: String, showPlan: Boolean },
    data: () => ({ ...constants, month: new Date(), rows: [], status: "", day: "", loading: false, error: "",
      page: 1, loadedMonth: "" }),
    computed: {
      dayRows() { return this.day ? this.rows.filter((row) => this.localDay(row.due_at) === this.day) : this.rows; },
      pagedRows() { return this.dayRows.slice((this.page - 1) * 20, this.page * 20); },
      counts() {
        const out = {};
        for (const row of this.rows) {
          const day = this.localDay(row.due_at);
          out[day] = out[day] || {};
          out[day][row.status] = (out[day][row.status] || 0) + 1;
        }
        return out;
      },
    },
    watch: {
      month() { if (this.monthKey() !== this.loadedMonth) this.load(); },
      day() { this.page = 1; },
    },
    mounted() { this.load(); },
    methods: {
      fmt: CC.datetime,
      localDay(value) { return isoDay(new Date(value)); },
      monthKey() { return isoDay(this.month).slice(0, 7); },
      dayCounts(day) {
        return Object.entries(this.counts[day] || {}).map(([status, count]) => (
          { status, count, label: STATUSES[status] || status }));
      },
      async load() {
        const first = new Date(this.month.getFullYear(), this.month.getMonth(), 1);
        const next = new Date(this.month.getFullYear(), this.month.getMonth() + 1, 1);
        this.loadedMonth = this.monthKey();
        this.loading = true;
        this.error = "";
        try {
          this.rows = await CC.all(this.source, { since: first.toISOString(), until: next.toISOString(),
            status: this.status });
          this.page = 1;
        } catch (error) {
          this.error = CC.message(error);
          this.rows = [];
        } finally {
          this.loading = false;
        }
      },
    },
  };

  pages["group-sops"] = {
    template: "#tpl-group-sops",
    mixins: [CC.formMixin],
    components: { "execution-calendar": executionCalendar, "attachments-editor": window.ScrmCrud.attachmentsEditor },
    data: () => ({
      ...constants, form: blankForm(), view: "plans", rows: [], loading: false, loadError: "", page: 1, pageSize: 10,
      filters: { name: "", status: "", kind: "" }, labels: [], codes: [], groupOptions: [], groupChat: "",
      calendarOpen: false, calendarPlan: null, resultsOpen: false, resultsPlan: null, results: null,
    }),
    computed: {
      filtered() {
        const { name, status, kind } = this.filters;
        return this.rows.filter((row) => (!name || row.name.includes(name)) && (!status || row.status === status)
          && (!kind || row.schedule.kind === kind));
      },
      paged() { return this.filtered.slice((this.page - 1) * this.pageSize, this.page * this.pageSize); },
      relative() { return RELATIVE.includes(this.form.schedule && this.form.schedule.kind); },
      recurring() { return ["daily", "weekly", "monthly"].includes(this.form.schedule && this.form.schedule.kind); },
    },
    watch: { filters: { deep: true, handler() { this.page = 1; } } },
    mounted() {
      this.reload();
      this.searchGroups("");
    },
    methods: {
      async reload() {
        this.loading = true;
        this.loadError = "";
        try {
          this.rows = await CC.all("/group-sops");
        } catch (error) {
          this.loadError = CC.message(error);
        } finally {
          this.loading = false;
        }
      },
      async loadChoices() {
        try {
          [this.labels, this.codes] = await Promise.all([CC.all("/group-labels"), CC.all("/group-codes")]);
        } catch (error) {
          CC.toast(CC.message(error), "error");
        }
      },
      async searchGroups(text) {
        try {
          const { items } = await CC.page("/groups", { name: text || undefined, status: "active", page_size: 50 });
          const chosen = this.groupOptions.filter((group) => (this.form.targets || {}).chat_ids?.includes(group.chat_id));
          const seen = new Set(items.map((group) => group.chat_id));
          this.groupOptions = [...items, ...chosen.filter((group) => !seen.has(group.chat_id))];
        } catch (error) {
          CC.toast(CC.message(error), "error");
        }
      },
      loadGroupCalendar() { /* the calendar component reloads with its key */ },
      openCreate() {
        this.editing = null;
        this.form = blankForm();
        this.resetErrors();
        this.loadChoices();
        this.drawer = true;
      },
      openEdit(plan) {
        this.editing = plan;
        const schedule = { ...blankForm().schedule, at_time: "", ...plan.schedule };
        const targets = { ...blankForm().targets, ...plan.targets };
        for (const key of ["weekdays", "month_days", "owners", "label_ids", "group_code_ids", "chat_ids"]) {
          const holder = key in schedule ? schedule : targets;
          holder[key] = [...(holder[key] || [])];
        }
        targets.name_contains = targets.name_contains || "";
        const known = new Set(this.groupOptions.map((group) => group.chat_id));
        this.groupOptions.push(...targets.chat_ids.filter((id) => !known.has(id)).map((id) => ({ chat_id: id, name: id })));
        this.form = {
          name: plan.name, delivery: plan.delivery, paused: false, targets, schedule,
          steps: plan.steps.map((step) => ({
            id: step.id, name: step.name || "", text: step.text || "", attachments: step.attachments || [],
            timing: step.day_offset !== null && step.day_offset !== undefined ? "day" : "delay",
            delay_minutes: step.delay_minutes ?? 0, day_offset: step.day_offset ?? 0, at_time: step.at_time || "",
          })),
        };
        this.resetErrors();
        this.loadChoices();
        this.drawer = true;
      },
      addStep() { this.form.steps.push(blankStep()); },
      body() {
        const f = this.form;
        const t = f.targets;
        const targets = { owners: t.owners, label_ids: t.label_ids, group_code_ids: t.group_code_ids,
          chat_ids: t.chat_ids };
        if (t.name_contains) targets.name_contains = t.name_contains;
        const s = f.schedule;
        const schedule = { kind: s.kind };
        if (s.kind === "once") schedule.at = s.at || undefined;
        if (this.recurring) {
          if (s.at_time) schedule.at_time = s.at_time;
          if (s.start_date) schedule.start_date = s.start_date;
          if (s.end_date) schedule.end_date = s.end_date;
          if (s.kind === "weekly") schedule.weekdays = s.weekdays;
          if (s.kind === "monthly") schedule.month_days = s.month_days;
        }
        const steps = f.steps.map((step) => {
          const out = { name: step.name || null, text: step.text || null,
            attachments: window.ScrmCrud.cleanAttachments(step.attachments) };
          if (step.id) out.id = step.id;
          if (this.relative) {
            if (step.timing === "day") {
              out.day_offset = step.day_offset;
              if (step.at_time) out.at_time = step.at_time;
            } else out.delay_minutes = step.delay_minutes;
          }
          return out;
        });
        const body = { name: f.name, delivery: f.delivery, targets, schedule, steps };
        if (!this.editing) body.paused = f.paused;
        return body;
      },
      shownFields() {
        const paths = ["name", "delivery", "targets.owners", "targets.name_contains", "targets.label_ids",
          "targets.group_code_ids", "targets.chat_ids", "schedule", "schedule.kind", "schedule.at", "schedule.at_time",
          "schedule.weekdays", "schedule.month_days", "schedule.start_date", "schedule.end_date", "steps"];
        this.form.steps.forEach((step, index) => {
          for (const key of ["name", "text", "delay_minutes", "day_offset", "at_time", "attachments"]) {
            paths.push(`steps.${index}.${key}`);
          }
        });
        // the attachment editor shows its own fields' messages (steps.<i>.attachments.<j>.<field>)
        paths.push(...Object.keys(this.errors).filter((path) => /^steps\.\d+\.attachments\.\d+\./.test(path)));
        return paths;
      },
      async submit() {
        const saved = this.editing
          ? await this.save("PATCH", `/group-sops/${this.editing.id}`, this.body())
          : await this.save("POST", "/group-sops", this.body());
        if (saved) {
          this.drawer = false;
          CC.toast(this.editing ? "已保存" : `已创建，匹配 ${saved.target_groups} 个客户群`);
          this.reload();
        }
      },
      async toggle(plan) {
        const action = plan.status === "active" ? "pause" : "resume";
        const text = action === "pause" ? `暂停「${plan.name}」？到期的执行将等待恢复。`
          : `恢复「${plan.name}」？暂停期间到期的执行将补发（超过 24 小时的跳过）。`;
        if (await CC.confirmThen(text, "POST", `/group-sops/${plan.id}/${action}`)) this.reload();
      },
      async remove(plan) {
        if (await CC.confirmThen(`删除群SOP「${plan.name}」？未执行的任务将被取消。`, "DELETE", `/group-sops/${plan.id}`)) {
          this.reload();
        }
      },
      openCalendar(plan) {
        this.calendarPlan = plan;
        this.calendarOpen = true;
      },
      async openResults(plan) {
        this.resultsPlan = plan;
        this.results = null;
        this.resultsOpen = true;
        try {
          this.results = await CC.api(`${CC.V1}/group-sops/${plan.id}/results`);
        } catch (error) {
          this.resultsOpen = false;
          CC.toast(CC.message(error), "error");
        }
      },
      countRows(counts, labels) {
        return Object.entries(counts || {}).map(([key, count]) => ({ label: labels[key] || key, count }));
      },
      countText(counts) {
        return Object.entries(counts || {}).map(([key, count]) => `${STATUSES[key] || key} ${count}`).join("，");
      },
      stepName(stepId) {
        const steps = (this.resultsPlan && this.resultsPlan.steps) || [];
        const index = steps.findIndex((step) => step.id === stepId);
        return index < 0 ? `#${stepId}（已删除）` : (steps[index].name || `步骤 ${index + 1}`);
      },
    },
  };
})();
