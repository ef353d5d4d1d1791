/* What the customer and group pages share: labels, times, and the customer filter ⇄ the form ⇄
   the query string (the same keys as the Open API's CustomerFilterSchema, which a segment stores). */
"use strict";
(function () {
  const RISK = { active: ["活跃", "success"], cooling: ["降温", "warning"], dormant: ["沉睡", "danger"], lost: ["流失", "info"] };
  const STATUSES = [
    { value: "active", label: "正常" }, { value: "deleted_by_customer", label: "客户删除了成员" },
    { value: "deleted_by_staff", label: "成员删除了客户" }, { value: "transferred", label: "已转接" },
    { value: "deleted_unknown", label: "已不在企业微信中" },
  ];
  const LISTS = ["tag_id", "stage_id", "channel_id", "owner", "department_id", "risk_level", "status"];

  function emptyForm() {
    const form = { q: "", tag_mode: "any", added: null, interaction: null };
    for (const key of LISTS) form[key] = [];
    return form;
  }

  /* A time from the API in the browser's local time, to the minute (console.js). */
  const fmt = (iso) => window.ScrmConsole.fmtTime(iso) || "—";

  /* A date range [first day, last day] (local days) → [from, to) as ISO-8601 UTC. */
  function range(days) {
    if (!days || days.length !== 2 || !days[0] || !days[1]) return [null, null];
    const start = new Date(days[0]); start.setHours(0, 0, 0, 0);
    const end = new Date(days[1]); end.setHours(0, 0, 0, 0); end.setDate(end.getDate() + 1);
    return [start.toISOString(), end.toISOString()];
  }

  function unrange(from, to) {
    if (!from || !to) return null;
    const end = new Date(to); end.setDate(end.getDate() - 1);
    return [new Date(from), end];
  }

  /* The form → the filter object (only what is set). */
  function filters(form) {
    const out = {};
    if (form.q && form.q.trim()) out.q = form.q.trim();
    for (const key of LISTS) if (form[key] && form[key].length) out[key] = [...form[key]];
    if (out.tag_id) out.tag_mode = form.tag_mode;
    const [addedFrom, addedTo] = range(form.added);
    if (addedFrom) { out.added_from = addedFrom; out.added_to = addedTo; }
    const [seenFrom, seenTo] = range(form.interaction);
    if (seenFrom) { out.interaction_from = seenFrom; out.interaction_to = seenTo; }
    return out;
  }

  /* A stored filter (a segment's) → the form. */
  function formOf(stored) {
    const form = emptyForm();
    if (stored.q) form.q = stored.q;
    for (const key of LISTS) if (stored[key]) form[key] = [...stored[key]];
    if (stored.tag_mode) form.tag_mode = stored.tag_mode;
    form.added = unrange(stored.added_from, stored.added_to);
    form.interaction = unrange(stored.interaction_from, stored.interaction_to);
    return form;
  }

  /* console.js's: a query string (arrays as repeated keys), a paged GET, a 422's field messages. */
  const { query, fieldErrors } = window.ScrmConsole;
  const getPaged = (path) => window.ScrmConsole.page(path);

  window.ScrmCustomers = {
    RISK, STATUSES, emptyForm, fmt, filters, formOf, query, getPaged, fieldErrors,
    riskLevels: Object.entries(RISK).map(([value, [label]]) => ({ value, label })),
    riskLabel: (level) => (RISK[level] || [level])[0],
    riskType: (level) => (RISK[level] || [null, "info"])[1],
  };
})();
