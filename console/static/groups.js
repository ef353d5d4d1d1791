/* 客户群: the group list with filters (GET /console/api/v1/groups). */
"use strict";
(function () {
  const { api, pages } = window.ScrmConsole;
  const C = window.ScrmCustomers;
  const empty = () => ({ name: "", owner: "", label_id: "", group_code_id: "", status: "", created: null });

  pages.groups = {
    template: "#tpl-groups",
    data: () => ({ loading: false, error: "", errors: {}, form: empty(), rows: [], total: 0, page: 1, pageSize: 20,
                   options: { staff: [], group_labels: [], group_codes: [] } }),
    computed: {
      names() { return Object.fromEntries(this.options.staff.map((s) => [s.userid, s.name])); },
    },
    async mounted() {
      this.search(1);
      try { this.options = await api("/console/api/v1/customer-search/options"); } catch (error) { this.error = error.message; }
    },
    methods: {
      fmt: C.fmt,
      staffName(userid) { return userid ? (this.names[userid] || userid) : "—"; },
      reset() { this.form = empty(); this.search(1); },
      async search(page) {
        this.page = page || 1;
        this.loading = true;
        this.error = "";
        this.errors = {};
        const params = { name: this.form.name.trim(), owner: this.form.owner, label_id: this.form.label_id,
                         group_code_id: this.form.group_code_id, status: this.form.status,
                         page: this.page, page_size: this.pageSize };
        if (this.form.created && this.form.created.length === 2) {
          const start = new Date(this.form.created[0]); start.setHours(0, 0, 0, 0);
          const end = new Date(this.form.created[1]); end.setHours(0, 0, 0, 0); end.setDate(end.getDate() + 1);
          params.created_from = start.toISOString();
          params.created_to = end.toISOString();
        }
        try {
          const { items, pagination } = await C.getPaged(`/console/api/v1/groups?${C.query(params)}`);
          this.rows = items;
          this.total = pagination.total || 0;
        } catch (error) {
          this.errors = C.fieldErrors(error);
          this.error = error.message;
        } finally {
          this.loading = false;
        }
      },
    },
  };
})();
