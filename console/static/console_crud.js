/* What the operators' pages share (渠道活码, 欢迎语, 客户SOP, 流失与召回, 内容库): a list with
   filters and pagination, a drawer form that saves through the Open API (/console/api/v1/...) and
   shows its 422 field messages in place, deletion with confirmation, media upload, the attachment
   editor, and small formatters. Loaded after console.js, before the page's script. */
"use strict";
(function () {
  const { api, bootstrap, csrf } = window.ScrmConsole;
  const V1 = "/console/api/v1";
  const options = bootstrap.options || { staff: [], tags: [] };
  const staffNames = Object.fromEntries(options.staff.map((s) => [s.userid, s.name]));
  const tagNames = Object.fromEntries(options.tags.map((t) => [t.id, t.name]));

  /* One wording and flattening of 422s, one paged GET: console.js's. */
  const flattenErrors = (errors) => window.ScrmConsole.fieldErrors(errors);
  const getPage = (path, params) => window.ScrmConsole.page(path, params);

  /* POST /console/api/v1/media (multipart): the asset, or an Error with .errors as api() does. */
  async function uploadMedia(kind, file) {
    const body = new FormData();
    body.append("kind", kind);
    body.append("file", file);
    const response = await fetch(`${V1}/media`, {
      method: "POST", body, credentials: "same-origin", headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const messages = flattenErrors(data.errors);
      const error = new Error(Object.values(messages)[0] || data.message || `上传失败（${response.status}）`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  const fmtTime = (value) => window.ScrmConsole.fmtTime(value);

  const STATUS_LABELS = {
    active: "启用", paused: "已暂停", deleted: "已删除", pending: "待执行", running: "执行中",
    awaiting: "待员工确认", sent: "已发送", failed: "失败", skipped: "已跳过", cancelled: "已取消",
    sending: "发送中",
  };
  const STATUS_TYPES = { active: "success", sent: "success", paused: "warning", awaiting: "warning", pending: "info",
    running: "info", failed: "danger", deleted: "info", skipped: "info", cancelled: "info", sending: "info" };

  /* A page's list + drawer form. The page gives:
       resource: "/console/api/v1/..."         the collection (item: resource + "/" + id)
       blank(): the new form; fromRow(row): the form for an edit; payload(form, editing): the body
       label(row): the name in the delete confirmation; matches(row): the client-side filter
       serverPaged: true → load() asks the API for one page (params(): the query). */
  function crud(spec) {
    return {
      data: () => ({
        rows: [], total: 0, loading: false, loadError: "", page: 1, pageSize: 20,
        drawer: false, editing: null, form: spec.blank(), errs: {}, otherErrs: [], saving: false,
        staffOptions: options.staff, tagOptions: options.tags,
      }),
      computed: {
        filtered() { return spec.serverPaged ? this.rows : this.rows.filter((row) => this.matches(row)); },
        pageRows() {
          if (spec.serverPaged) return this.rows;
          const start = (this.page - 1) * this.pageSize;
          return this.filtered.slice(start, start + this.pageSize);
        },
        listTotal() { return spec.serverPaged ? this.total : this.filtered.length; },
      },
      mounted() { this.load(); },
      methods: {
        matches(row) { return spec.matches ? spec.matches.call(this, row) : true; },
        async load() {
          this.loading = true;
          this.loadError = "";
          try {
            if (spec.serverPaged) {
              const { items, total } = await getPage(spec.resource, { ...spec.params.call(this), page: this.page,
                page_size: this.pageSize });
              this.rows = items;
              this.total = total;
            } else {
              this.rows = await api(spec.resource + (spec.query ? spec.query.call(this) : ""));
            }
            if (this.afterLoad) this.afterLoad();
          } catch (error) {
            this.loadError = error.message;
          } finally {
            this.loading = false;
          }
        },
        search() { this.page = 1; this.load(); },
        openCreate() {
          this.editing = null;
          this.form = spec.blank.call(this);
          this.errs = {};
          this.otherErrs = [];
          this.drawer = true;
        },
        openEdit(row) {
          this.editing = row;
          this.form = spec.fromRow.call(this, JSON.parse(JSON.stringify(row)));
          this.errs = {};
          this.otherErrs = [];
          this.drawer = true;
        },
        fe(path) { return this.errs[path] || ""; },
        /* Messages of a field and everything below it (a list of ids: "userids.3"). */
        feAll(path) {
          return Object.entries(this.errs).filter(([key]) => key === path || key.startsWith(path + "."))
            .map(([, message]) => message).join(" ");
        },
        async save() {
          this.saving = true;
          this.errs = {};
          this.otherErrs = [];
          const path = this.editing ? `${spec.resource}/${this.editing.id}` : spec.resource;
          try {
            await api(path, { method: this.editing ? "PATCH" : "POST", body: spec.payload.call(this, this.form, this.editing) });
            ElementPlus.ElMessage.success(this.editing ? "已保存" : "已创建");
            this.drawer = false;
            await this.load();
          } catch (error) {
            if (error.status === 422) {
              this.errs = flattenErrors(error.errors);
              await this.$nextTick();
              this.placeErrors();
              ElementPlus.ElMessage.error("请按提示修改标红的字段");
            } else {
              ElementPlus.ElMessage.error(error.message);
            }
          } finally {
            this.saving = false;
          }
        },
        /* Messages no form item shows (a data-path on each el-form-item) go in the drawer's alert. */
        placeErrors() {
          const root = this.$refs.formBox ? (this.$refs.formBox.$el || this.$refs.formBox) : document;
          const shown = Array.from(root.querySelectorAll("[data-path]")).map((el) => el.getAttribute("data-path"));
          this.otherErrs = Object.entries(this.errs)
            .filter(([key]) => !shown.some((p) => key === p || key.startsWith(p + ".")))
            .map(([key, message]) => `${key}: ${message}`);
        },
        async remove(row) {
          try {
            await ElementPlus.ElMessageBox.confirm(`确定删除「${spec.label(row)}」吗？此操作不可撤销。`, "删除确认",
              { type: "warning", confirmButtonText: "删除", cancelButtonText: "取消" });
          } catch (cancelled) {
            return;
          }
          try {
            await api(`${spec.resource}/${row.id}`, { method: "DELETE" });
            ElementPlus.ElMessage.success("已删除");
            await this.load();
          } catch (error) {
            const messages = Object.values(flattenErrors(error.errors));
            ElementPlus.ElMessage.error(messages.length ? messages.join(" ") : error.message);
          }
        },
        staffName(userid) { return staffNames[userid] || userid; },
        tagName(id) { return tagNames[id] || id; },
        fmtTime,
        /* A drawer of this width, or the whole screen on a tablet narrower than it. */
        drawerSize(px) { return window.innerWidth < px + 80 ? "100%" : `${px}px`; },
        statusLabel(status) { return STATUS_LABELS[status] || status; },
        statusType(status) { return STATUS_TYPES[status] || "info"; },
      },
    };
  }

  /* Attachments (≤ `max`, 9 by default, sent after the text): image (upload or picture URL), link, mini-program,
     video, file; media are uploaded at once (POST /console/api/v1/media). Field messages under
     `${path}.${i}.${field}`. */
  const attachmentsEditor = {
    props: { modelValue: { type: Array, default: () => [] }, path: { type: String, default: "attachments" },
      errs: { type: Object, default: () => ({}) }, kinds: { type: Array, default: () => ["image", "link", "miniprogram", "video", "file"] },
      max: { type: Number, default: 9 } },
    emits: ["update:modelValue"],
    data: () => ({ uploading: -1 }),
    computed: {
      kindLabels() { return { image: "图片", link: "链接", miniprogram: "小程序", video: "视频", file: "文件" }; },
    },
    methods: {
      err(i, field) { return this.errs[`${this.path}.${i}.${field}`] || ""; },
      add(kind) {
        const blank = { image: { msgtype: "image" }, link: { msgtype: "link", title: "", url: "" },
          miniprogram: { msgtype: "miniprogram", title: "", appid: "", page: "" }, video: { msgtype: "video" },
          file: { msgtype: "file" } }[kind];
        this.$emit("update:modelValue", [...this.modelValue, blank]);
      },
      drop(i) { this.$emit("update:modelValue", this.modelValue.filter((_, j) => j !== i)); },
      async upload(i, event) {
        const file = event.target.files[0];
        if (!file) return;
        const item = this.modelValue[i];
        const kind = item.msgtype === "miniprogram" ? "image" : item.msgtype;
        this.uploading = i;
        try {
          const asset = await uploadMedia(kind, file);
          item.media = asset.id;
          item._filename = asset.filename;
          if (item.msgtype === "image") delete item.pic_url;
          ElementPlus.ElMessage.success(`已上传 ${asset.filename}`);
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
        } finally {
          this.uploading = -1;
          event.target.value = "";
        }
      },
    },
    template: "#tpl-attachments-editor",
  };

  /* Attachments as sent to the API: without our display-only keys, empty optional fields dropped. */
  function cleanAttachments(list) {
    return (list || []).map((item) => {
      const out = {};
      for (const [key, value] of Object.entries(item)) {
        if (!key.startsWith("_") && value !== "" && value !== null && value !== undefined) out[key] = value;
      }
      return out;
    });
  }

  /* Placeholders the service renders ({nickname}, {staff_name}) filled in for a preview. */
  function renderPreview(text, values) {
    return (text || "").replace(/\{(nickname|staff_name)\}/g, (_, key) => values[key] ?? "");
  }

  window.ScrmCrud = { V1, crud, flattenErrors, getPage, uploadMedia, fmtTime, attachmentsEditor, cleanAttachments,
    renderPreview, options, staffNames, tagNames, STATUS_LABELS };
})();
