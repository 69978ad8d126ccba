import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';

// Hash history: the built dashboard works from any base path (and from a saved file), and the
// server needs no rewrite rule for deep links.
export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/adapters' },
  { path: '/adapters', name: 'adapters', component: () => import('./pages/AdaptersPage.vue'), meta: { title: 'Adapters' } },
  { path: '/adapters/:id', name: 'adapter', component: () => import('./pages/AdapterDetailPage.vue'), props: true, meta: { title: 'Adapter' } },
  { path: '/merge', name: 'merge', component: () => import('./pages/MergePage.vue'), meta: { title: 'Merge' } },
  { path: '/jobs', name: 'jobs', component: () => import('./pages/JobsPage.vue'), meta: { title: 'Jobs' } },
  { path: '/jobs/:id', name: 'job', component: () => import('./pages/JobPage.vue'), props: true, meta: { title: 'Job' } },
  { path: '/reports/:id', name: 'report', component: () => import('./pages/ReportPage.vue'), props: true, meta: { title: 'Report' } },
  { path: '/bases', name: 'bases', component: () => import('./pages/BasesPage.vue'), meta: { title: 'Bases' } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue'), meta: { title: 'Not found' } },
];

export function createAppRouter() {
  const router = createRouter({ history: createWebHashHistory(), routes });
  router.afterEach((to) => {
    const title = typeof to.meta['title'] === 'string' ? to.meta['title'] : '';
    document.title = title ? `${title} · Adapter Workbench` : 'Adapter Workbench';
  });
  return router;
}
