//! The app's frame: the lock gate (on start it asks `access`; while locked only the lock screen shows), the left
//! navigation and the routes (code-based TanStack Router over hash history, as the page is served from disk).
import { useEffect } from 'react';
import {
  Link,
  Outlet,
  createHashHistory,
  createRootRouteWithContext,
  createRoute,
  createRouter,
  redirect,
  type RouterHistory,
} from '@tanstack/react-router';
import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import * as client from './api/client';
import { TypedError } from './api/client';
import * as timing from './lib/timing';
import { BrokerDown } from './screens/BrokerDown';
import { ChatScreen } from './screens/ChatScreen';
import { DiagnosticsScreen } from './screens/DiagnosticsScreen';
import { HistoryScreen } from './screens/HistoryScreen';
import { LockScreen } from './screens/LockScreen';
import { SchemaScreen } from './screens/SchemaScreen';
import { SettingsScreen } from './screens/SettingsScreen';
import { SourcesScreen } from './screens/SourcesScreen';
import { resetChat } from './state/chatStore';

const NAV = [
  { to: '/chat', label: 'Chat', id: 'chat' },
  { to: '/sources', label: 'Sources', id: 'sources' },
  { to: '/schema', label: 'Schema', id: 'schema' },
  { to: '/history', label: 'History', id: 'history' },
  { to: '/diagnostics', label: 'Diagnostics', id: 'diagnostics' },
  { to: '/settings', label: 'Settings', id: 'settings' },
] as const;

function Layout() {
  const queryClient = useQueryClient();
  const access = useQuery({ queryKey: ['access'], queryFn: client.access }).data;
  const lock = useMutation({
    mutationFn: client.lock,
    onSuccess: (state) => {
      resetChat();
      queryClient.setQueryData(['access'], state);
    },
  });
  return (
    <div className="app">
      <nav className="nav">
        <div className="brand">PolyStoreIQ</div>
        {NAV.map((item) => (
          <Link
            key={item.id}
            to={item.to}
            data-testid={`nav-${item.id}`}
            className="nav-link"
            activeProps={{ className: 'nav-link active' }}
          >
            {item.label}
          </Link>
        ))}
        <div className="nav-foot">
          {access && (
            <span className="muted small" data-testid="nav-role">
              {access.role}
            </span>
          )}
          {access?.owner_lock && (
            <button type="button" data-testid="nav-lock" disabled={lock.isPending} onClick={() => lock.mutate()}>
              Lock
            </button>
          )}
        </div>
      </nav>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}

function Gate() {
  const queryClient = useQueryClient();
  const access = useQuery({ queryKey: ['access'], queryFn: client.access, retry: 1 });
  useEffect(() => {
    client.onLocked(() => {
      resetChat();
      void queryClient.invalidateQueries({ queryKey: ['access'] });
    });
    // A result's render time feeds the diagnostics' `render` stage; a report that fails only loses a sample.
    timing.onRenderTime((run, micros) => void client.renderTime(run, micros).catch(() => undefined));
    return () => {
      client.onLocked(null);
      timing.onRenderTime(null);
    };
  }, [queryClient]);

  if (access.isPending) {
    return (
      <div className="lock-screen" data-testid="starting">
        <p className="muted">Connecting to the broker…</p>
      </div>
    );
  }
  if (access.error && !access.data) {
    const error = TypedError.from(access.error);
    if (error.code === 'locked') return <LockScreen />;
    return <BrokerDown error={error} />;
  }
  if (access.data?.locked) return <LockScreen />;
  return <Layout />;
}

const rootRoute = createRootRouteWithContext<{ queryClient: QueryClient }>()({ component: Gate });

const indexRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/',
  beforeLoad: () => {
    throw redirect({ to: '/chat' });
  },
});
const chatRoute = createRoute({ getParentRoute: () => rootRoute, path: '/chat', component: ChatScreen });
const sourcesRoute = createRoute({ getParentRoute: () => rootRoute, path: '/sources', component: SourcesScreen });
const schemaRoute = createRoute({ getParentRoute: () => rootRoute, path: '/schema', component: SchemaScreen });
const historyRoute = createRoute({ getParentRoute: () => rootRoute, path: '/history', component: HistoryScreen });
const diagnosticsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/diagnostics',
  component: DiagnosticsScreen,
});
const settingsRoute = createRoute({ getParentRoute: () => rootRoute, path: '/settings', component: SettingsScreen });

const routeTree = rootRoute.addChildren([
  indexRoute,
  chatRoute,
  sourcesRoute,
  schemaRoute,
  historyRoute,
  diagnosticsRoute,
  settingsRoute,
]);

export function makeRouter(queryClient: QueryClient, history: RouterHistory = createHashHistory()) {
  return createRouter({ routeTree, history, context: { queryClient }, defaultPreload: false });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof makeRouter>;
  }
}
