//! The page's entry: one query client, the router, the stylesheet.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { makeRouter } from './App';
import { TypedError } from './api/client';
import './styles.css';

const NO_RETRY = new Set(['locked', 'forbidden', 'bad_request', 'source_not_found', 'run_not_found']);

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      refetchOnWindowFocus: false,
      retry: (count, error) => count < 2 && !NO_RETRY.has(TypedError.from(error).code),
    },
    mutations: { retry: false },
  },
});
const router = makeRouter(queryClient);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
