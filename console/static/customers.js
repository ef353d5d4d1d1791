/* 客户: the filterable list (GET /console/api/v1/customer-search), saved segments (分群). */
"use strict";
(function () {
  const { api, pages } = window.ScrmConsole;
  const C = window.ScrmCustomers;
  const BASE = "/console/api/v1";

  pages.customers = {
    template: "#tpl-customers",
    data: () => ({
      loading: false, error: "", errors: {}, form: C.emptyForm(),
      options: { tag_groups: [], stages: [], channels: [], staff: [], departments: [] },
      rows: [], total: 0, capped: false, cap: 0, page: 1, pageSize: 20, sort: "-added_at",
      segments: [], segmentId: null, segmentCount: "",
      saving: false, segmentForm: { name: "", description: "" }, saveErrors: {}, massing: false,
      riskLevels: C.riskLevels, statuses: C.STATUSES,
    }),
    computed: {
      totalText() {
        if (this.loading) return "";
        return this.capped ? `共 ${this.cap.toLocaleString()}+ 条（仅可翻阅前 ${this.cap.toLocaleString()} 条，请缩小筛选范围）`
          : `共 ${this.total.toLocaleString()} 条`;
      },
      pagerTotal() { return this.capped ? this.cap : this.total; },
    },
    mounted() {
      this.loadOptions();
      this.loadSegments();
      this.search(1);
    },
    methods: {
      fmt: C.fmt, riskLabel: C.riskLabel, riskType: C.riskType,
      fieldError(name) { return this.errors[name] || ""; },
      customerHref(row) { return "/console/customers/" + encodeURIComponent(row.external_userid); },
      async loadOptions() {
        try { this.options = await api(`${BASE}/customer-search/options`); } catch (error) { this.error = error.message; }
      },
      async loadSegments() {
        try { this.segments = await api(`${BASE}/segments`); } catch (error) { this.error = error.message; }
      },
      /* A new search counts; moving to another page of the same search does not (the total stands). */
      async search(page, keepTotal) {
        this.page = page || 1;
        this.loading = true;
        this.error = "";
        this.errors = {};
        try {
          const params = { ...C.filters(this.form), sort: this.sort, page: this.page, page_size: this.pageSize };
          if (keepTotal === true) params.with_total = "false";
          const data = await api(`${BASE}/customer-search?${C.query(params)}`);
          this.rows = data.items;
          if (data.total !== null) {
            this.total = data.total;
            this.capped = data.total_capped;
            this.cap = data.count_cap;
          }
        } catch (error) {
          this.errors = C.fieldErrors(error);
          this.error = error.message;
          this.rows = [];
        } finally {
          this.loading = false;
        }
      },
      turn(page) { this.search(page, true); },
      sizeChange(size) { this.pageSize = size; this.search(1, true); },
      sortChange({ prop, order }) {
        this.sort = !order ? "-added_at" : (order === "ascending" ? prop : "-" + prop);
        this.search(1);
      },
      reset() {
        this.form = C.emptyForm();
        this.segmentId = null;
        this.segmentCount = "";
        this.search(1);
      },
      async loadSegment(id) {
        this.segmentCount = "";
        if (!id) return;
        const segment = this.segments.find((s) => s.id === id);
        if (!segment) return;
        this.form = C.formOf(segment.filters);
        this.search(1);
        try {
          const count = await api(`${BASE}/segments/${id}/count`);
          this.segmentCount = `分群「${segment.name}」当前 ${count.total.toLocaleString()}${count.total_capped ? "+" : ""} 条好友关系`;
        } catch (error) {
          this.error = error.message;
        }
      },
      /* Who a mass message or a bulk action is for: the selected segment while its filters are
         unchanged, else the filters on screen (scrm/services/audience.py). */
      audience() {
        const filters = C.filters(this.form);
        const segment = this.segments.find((s) => s.id === this.segmentId);
        if (segment && JSON.stringify(C.filters(C.formOf(segment.filters))) === JSON.stringify(filters)) {
          return { segment_id: segment.id };
        }
        return { filters };
      },
      audienceLabel() {
        const segment = this.segments.find((s) => s.id === this.segmentId);
        const audience = this.audience();
        const count = this.capped ? `${this.cap.toLocaleString()}+` : this.total.toLocaleString();
        return audience.segment_id ? `分群「${segment.name}」（${count} 条好友关系）`
          : `当前筛选的客户（${count} 条好友关系；每位客户只收到一次）`;
      },
      async bulk() {
        const job = await window.ScrmBulk.openDialog(this.audience(), { audienceLabel: this.audienceLabel() });
        if (job) ElementPlus.ElMessage.success("批量操作已开始，可在「任务中心」查看进度");
      },
      massCreated() { window.location.href = "/console/mass-messages"; },
      openSave() {
        this.saveErrors = {};
        this.segmentForm = { name: "", description: "" };
        this.saving = true;
      },
      async saveSegment() {
        this.saveErrors = {};
        try {
          const body = { name: this.segmentForm.name, filters: C.filters(this.form) };
          if (this.segmentForm.description) body.description = this.segmentForm.description;
          const segment = await api(`${BASE}/segments`, { method: "POST", body });
          this.saving = false;
          await this.loadSegments();
          this.segmentId = segment.id;
          this.loadSegment(segment.id);
          ElementPlus.ElMessage.success("分群已保存");
        } catch (error) {
          this.saveErrors = C.fieldErrors(error);
          if (!Object.keys(this.saveErrors).length) this.saveErrors = { name: error.message };
        }
      },
      async deleteSegment() {
        const segment = this.segments.find((s) => s.id === this.segmentId);
        if (!segment) return;
        try {
          await ElementPlus.ElMessageBox.confirm(`删除分群「${segment.name}」？筛选条件不受影响。`, "删除分群", { type: "warning" });
        } catch (cancelled) { return; }
        try {
          await api(`${BASE}/segments/${segment.id}`, { method: "DELETE" });
          this.segmentId = null;
          this.segmentCount = "";
          this.loadSegments();
        } catch (error) { this.error = error.message; }
      },
    },
  };
})();
