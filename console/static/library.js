/* 内容库: scripts (话术) and materials (素材: image, link, mini-program) of the sidebar's library
   (/console/api/v1/contents, paginated and searched by the API), with image upload
   (/console/api/v1/media). */
"use strict";
(function () {
  const { api, pages } = window.ScrmConsole;
  const { V1, crud, uploadMedia } = window.ScrmCrud;
  const KINDS = { text: "话术", image: "图片", link: "链接", miniprogram: "小程序" };
  const FIELDS = { text: ["content"], image: ["media"], link: ["url", "title", "desc", "picurl"],
    miniprogram: ["appid", "page", "title", "media"] };

  pages.library = {
    template: "#tpl-library",
    mixins: [crud({
      resource: `${V1}/contents`,
      serverPaged: true,
      params() { return { q: this.filters.q.trim(), category: this.filters.category, kind: this.filters.shelf }; },
      blank() { return { kind: (this && this.filters && this.filters.shelf) || "text", title: "", category: "默认", keywords: "", body: {} }; },
      fromRow: (row) => ({ kind: row.kind, title: row.title, category: row.category, keywords: row.keywords || "",
        body: { ...row.body } }),
      payload(form) {
        const body = {};
        for (const key of FIELDS[form.kind]) {
          if (form.body[key] !== undefined && form.body[key] !== "") body[key] = form.body[key];
        }
        return { kind: form.kind, title: form.title, category: form.category, keywords: form.keywords || null, body };
      },
      label: (row) => row.title,
    })],
    data: () => ({ filters: { q: "", category: "", shelf: "" }, kinds: KINDS, categories: [], uploading: false }),
    created() { this.loadCategories(); },
    methods: {
      afterLoad() { this.loadCategories(); },
      async loadCategories() {
        try { this.categories = await api(`${V1}/content-categories`); } catch (error) { this.categories = []; }
      },
      summary(row) {
        const b = row.body || {};
        if (row.kind === "text") return b.content;
        if (row.kind === "link") return `${b.title || ""} ${b.url || ""}`;
        if (row.kind === "miniprogram") return `${b.title || ""} ${b.appid || ""} ${b.page || ""}`;
        return `图片 #${b.media}`;
      },
      async upload(event) {
        const file = event.target.files[0];
        if (!file) return;
        this.uploading = true;
        try {
          const asset = await uploadMedia("image", file);
          this.form.body.media = asset.id;
          this.form._filename = asset.filename;
          ElementPlus.ElMessage.success(`已上传 ${asset.filename}`);
        } catch (error) {
          ElementPlus.ElMessage.error(error.message);
        } finally {
          this.uploading = false;
          event.target.value = "";
        }
      },
    },
  };
})();
