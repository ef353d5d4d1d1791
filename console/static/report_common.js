/* What every 报表 page shares (window.ScrmReports): the date range and filters a page opens with
   (?from=&to=&department_id=&userid= as links and the morning digest give them), the department
   tree for el-tree-select, the staff and departments of the viewer's scope, the ECharts instance
   a page draws into (resized with the window), loading a report and the download of an export. */
"use strict";
(function () {
  const { api, query } = window.ScrmConsole;

  function isoDay(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }

  function initialFilters(days = 30) {
    const params = new URLSearchParams(window.location.search);
    const last = new Date();
    const first = new Date(last); first.setDate(first.getDate() - (days - 1));
    return {
      days: [params.get("from") || isoDay(first), params.get("to") || isoDay(last)],
      departmentId: params.get("department_id") ? Number(params.get("department_id")) : null,
      userid: params.get("userid") || "",
      figure: params.get("figure") || "",
    };
  }

  function departmentTree(departments) {
    const nodes = Object.fromEntries(departments.map((d) => [d.id, { value: d.id, label: d.name, children: [] }]));
    const roots = [];
    for (const d of departments) {
      const parent = d.parent_id && nodes[d.parent_id];
      (parent ? parent.children : roots).push(nodes[d.id]);
    }
    return roots;
  }

  /* The staff and departments the viewer may filter by: {staff, names, departmentTree}. */
  async function scopeOptions() {
    try {
      const options = await api("/console/api/v1/customer-search/options");
      return { staff: options.staff, names: Object.fromEntries(options.staff.map((s) => [s.userid, s.name])),
        departmentTree: departmentTree(options.departments || []) };
    } catch (error) {  // the filters stay empty; the report still loads
      return { staff: [], names: {}, departmentTree: [] };
    }
  }

  /* The ECharts instance of a page's chart element (created once, resized with the window). */
  function chartOf(vm, element) {
    if (!vm._chart) {
      vm._chart = echarts.init(element);
      vm._resize = () => vm._chart && vm._chart.resize();
      window.addEventListener("resize", vm._resize);
    }
    return vm._chart;
  }

  function disposeChart(vm) {
    if (vm._chart) { vm._chart.dispose(); vm._chart = null; window.removeEventListener("resize", vm._resize); }
  }

  function download(url, params) { window.location.href = `${url}?${query(params)}`; }

  /* The range and scope filters as the Open API's report endpoints take them. */
  function rangeParams(vm) {
    return { from: vm.days[0], to: vm.days[1], department_id: vm.departmentId || "", userid: vm.userid || "" };
  }

  /* Load a page's report into vm.report (vm.loading / vm.error while and after), then let the page
     draw it (vm.draw, after the DOM update); ``received`` sees the answer first. */
  async function loadReport(vm, url, params, { notFound = "没有这个成员，或不在你的数据范围内。", received } = {}) {
    vm.loading = true;
    vm.error = "";
    try {
      vm.report = await api(`${url}?${query(params)}`);
      if (received) received(vm.report);
      await vm.$nextTick();
      vm.draw();
    } catch (error) {
      vm.error = error.status === 404 ? notFound : error.message;
      vm.report = null;
    } finally {
      vm.loading = false;
    }
  }

  window.ScrmReports = { isoDay, initialFilters, departmentTree, scopeOptions, chartOf, disposeChart, download,
    rangeParams, loadReport };
})();
