/* 设置: 企业标签 (the corp tag library, changed in WeCom first; 「从企业微信同步」), 客户群标签,
   销售阶段 and 自定义字段 — /console/api/v1/corp-tag-groups, /corp-tags, /group-labels,
   /funnel-stages and /custom-fields. */
"use strict";
(function () {
  const { pages } = window.ScrmConsole;
  const CC = window.CommunityCommon;
  const TYPES = { text: "文本", number: "数字", date: "日期", select: "单选" };

  function contains(needle, ...values) {
    return !needle || values.some((value) => (value || "").toLowerCase().includes(needle.toLowerCase()));
  }

  /* A small list (every row fetched once), filtered and paged in the browser, with a drawer form
     for `path` (POST to create, PATCH path/<id> to edit, DELETE to remove). */
  function crud(path, { blank, fromRow, body, fields, matches, what, deleteNote = "" }) {
    return {
      mixins: [CC.formMixin],
      data: () => ({ rows: [], loading: false, loadError: "", page: 1, pageSize: 10, form: blank() }),
      computed: {
        filtered() { return this.rows.filter((row) => matches.call(this, row)); },
        paged() { return this.filtered.slice((this.page - 1) * this.pageSize, this.page * this.pageSize); },
      },
      watch: { filters: { deep: true, handler() { this.page = 1; } } },
      mounted() { this.reload(); },
      methods: {
        async reload() {
          this.loading = true;
          this.loadError = "";
          try {
            this.rows = await CC.all(path);
          } catch (error) {
            this.loadError = CC.message(error);
          } finally {
            this.loading = false;
          }
        },
        openCreate() { this.editing = null; this.form = blank(); this.resetErrors(); this.drawer = true; },
        openEdit(row) { this.editing = row; this.form = fromRow(row); this.resetErrors(); this.drawer = true; },
        shownFields() { return fields; },
        async submit() {
          const saved = this.editing ? await this.save("PATCH", `${path}/${this.editing.id}`, body(this.form, this.editing))
            : await this.save("POST", path, body(this.form, null));
          if (saved) {
            this.drawer = false;
            CC.toast("已保存");
            this.reload();
          }
        },
        async remove(row) {
          const name = row.name || row.label;
          if (await CC.confirmThen(`删除${what}「${name}」？${deleteNote}`, "DELETE", `${path}/${row.id}`)) this.reload();
        },
      },
    };
  }

  const groupLabels = {
    template: "#tpl-group-labels",
    mixins: [crud("/group-labels", {
      what: "客户群标签", deleteNote: "它将从所有客户群上移除。",
      blank: () => ({ name: "", category: "", color: null }),
      fromRow: (row) => ({ name: row.name, category: row.category || "", color: row.color || null }),
      body: (f) => ({ name: f.name, category: f.category || null, color: f.color ? f.color.toLowerCase() : null }),
      fields: ["name", "category", "color"],
      matches(row) { return contains(this.filters.name, row.name) && (!this.filters.category || row.category === this.filters.category); },
    })],
    data: () => ({ filters: { name: "", category: "" } }),
    computed: {
      categories() { return [...new Set(this.rows.map((row) => row.category).filter(Boolean))]; },
    },
  };

  const funnelStages = {
    template: "#tpl-funnel-stages",
    mixins: [crud("/funnel-stages", {
      what: "销售阶段", deleteNote: "处于该阶段的客户将显示为无阶段（历史记录保留）。",
      blank: () => ({ name: "", order: 0 }),
      fromRow: (row) => ({ name: row.name, order: row.order }),
      body: (f) => ({ name: f.name, order: f.order ?? 0 }),
      fields: ["name", "order"],
      matches(row) { return contains(this.filters.name, row.name); },
    })],
    data: () => ({ filters: { name: "" } }),
  };

  const customFields = {
    template: "#tpl-custom-fields",
    mixins: [crud("/custom-fields", {
      what: "自定义字段", deleteNote: "侧边栏将不再显示它，已填写的值保留。",
      blank: () => ({ key: "", label: "", type: "text", options: [], required: false, order: 0 }),
      fromRow: (row) => ({ key: row.key, label: row.label, type: row.type, options: [...(row.options || [])],
        required: row.required, order: row.order }),
      body: (f, editing) => {
        const out = { label: f.label, required: f.required, order: f.order ?? 0 };
        if (f.type === "select") out.options = f.options;
        if (!editing) Object.assign(out, { key: f.key, type: f.type });
        return out;
      },
      fields: ["key", "label", "type", "options", "required", "order"],
      matches(row) { return contains(this.filters.name, row.label, row.key) && (!this.filters.type || row.type === this.filters.type); },
    })],
    data: () => ({ TYPES, filters: { name: "", type: "" } }),
  };

  const TITLES = { "group-create": "新建标签组", "group-edit": "编辑标签组", "add-tags": "添加标签", "tag-edit": "编辑标签" };

  const corpTags = {
    template: "#tpl-corp-tags",
    mixins: [CC.formMixin],
    data: () => ({ rows: [], total: 0, loading: false, loadError: "", page: 1, pageSize: 10, filters: { name: "" },
      mode: "group-create", target: null, syncing: false, form: { tags: [] } }),
    computed: { drawerTitle() { return TITLES[this.mode]; } },
    mounted() { this.reload(); },
    methods: {
      async reload() {
        this.loading = true;
        this.loadError = "";
        try {
          const { items, total } = await CC.page("/corp-tag-groups", { name: this.filters.name, page: this.page,
            page_size: this.pageSize });
          this.rows = items;
          this.total = total;
        } catch (error) {
          this.loadError = CC.message(error);
        } finally {
          this.loading = false;
        }
      },
      open(mode, target, form) {
        this.mode = mode;
        this.target = target;
        this.form = form;
        this.resetErrors();
        this.drawer = true;
      },
      openGroupCreate() { this.open("group-create", null, { group_name: "", order: undefined, tags: [{ name: "" }] }); },
      openGroupEdit(group) { this.open("group-edit", group, { name: group.name, order: group.order ?? undefined }); },
      openAddTags(group) { this.open("add-tags", group, { tags: [{ name: "" }] }); },
      openTagEdit(tag) { this.open("tag-edit", tag, { name: tag.name, order: tag.order ?? undefined }); },
      shownFields() {
        const paths = ["group_name", "name", "order", "tags"];
        (this.form.tags || []).forEach((tag, index) => paths.push(`tags.${index}.name`));
        return paths;
      },
      request() {
        const f = this.form;
        const order = f.order === undefined || f.order === null ? {} : { order: f.order };
        const tags = (f.tags || []).map((tag) => ({ name: tag.name }));
        switch (this.mode) {
          case "group-create": return ["POST", "/corp-tag-groups", { group_name: f.group_name, ...order, tags }];
          case "add-tags": return ["POST", `/corp-tag-groups/${encodeURIComponent(this.target.group_id)}/tags`, { tags }];
          case "group-edit": return ["PATCH", `/corp-tag-groups/${encodeURIComponent(this.target.group_id)}`, { name: f.name, ...order }];
          default: return ["PATCH", `/corp-tags/${encodeURIComponent(this.target.tag_id)}`, { name: f.name, ...order }];
        }
      },
      async submit() {
        const saved = await this.save(...this.request());
        if (saved) {
          this.drawer = false;
          CC.toast("已保存到企业微信");
          this.reload();
        }
      },
      async removeGroup(group) {
        if (await CC.confirmThen(`删除标签组「${group.name}」及其 ${group.tags.length} 个标签？企业微信中将一并删除，并从所有客户身上移除。`,
          "DELETE", `/corp-tag-groups/${encodeURIComponent(group.group_id)}`)) this.reload();
      },
      async removeTag(tag) {
        if (await CC.confirmThen(`删除标签「${tag.name}」？企业微信中将一并删除，并从所有客户身上移除。`, "DELETE",
          `/corp-tags/${encodeURIComponent(tag.tag_id)}`)) this.reload();
      },
      async sync() {
        this.syncing = true;
        try {
          const result = await CC.api(`${CC.V1}/corp-tags/sync`, { method: "POST" });
          CC.toast(`已从企业微信同步 ${result.groups} 个标签组、${result.tags} 个标签`);
          this.reload();
        } catch (error) {
          CC.toast(CC.message(error), "error");
        } finally {
          this.syncing = false;
        }
      },
    },
  };

  pages.settings = {
    template: "#tpl-settings",
    components: { "corp-tags": corpTags, "group-labels": groupLabels, "funnel-stages": funnelStages,
      "custom-fields": customFields },
    data: () => CC.tabState(),
    methods: { remember: CC.rememberTab },
  };
})();
