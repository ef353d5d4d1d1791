/* Mounts the console shell (the layout in base.html) with Element Plus in Simplified Chinese,
   its icons, and the page component this page registered. Runs last (deferred scripts keep
   their order). */
"use strict";
(function () {
  const { bootstrap, csrf, pages } = window.ScrmConsole;
  const NARROW = 1100; // px: below this (tablets) the menu starts collapsed to its icons

  const app = Vue.createApp({
    data: () => ({
      menu: bootstrap.menu,
      active: bootstrap.active,
      title: bootstrap.title,
      user: bootstrap.user,
      csrf,
      collapsed: window.innerWidth < NARROW,
    }),
    computed: {
      kindLabel() { return this.user.role_label || (this.user.kind === "admin" ? "管理员" : "成员"); },
    },
    methods: {
      go(href) { if (href !== this.active) window.location.href = href; },
    },
  });
  app.config.compilerOptions.delimiters = ["[[", "]]"]; // never Jinja's {{ }}
  app.use(ElementPlus, { locale: ElementPlusLocaleZhCn });
  for (const [name, component] of Object.entries(ElementPlusIconsVue)) {
    if (component && typeof component === "object") app.component(name, component);
  }
  for (const [name, component] of Object.entries(window.ScrmConsole.components)) app.component(name, component);
  app.component("page-body", pages[bootstrap.page] || { template: "<div></div>" });
  app.mount("#app");
  window.ScrmConsole.app = app;
})();
