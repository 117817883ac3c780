import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { session } from './api.js';
import { Alerts } from './pages/alerts.js';
import { Explorer } from './pages/explorer.js';
import { LeadPage } from './pages/lead.js';
import { Search } from './pages/search.js';
import { SignIn } from './pages/signin.js';
import { Unmapped } from './pages/unmapped.js';
import { Exports } from './pages/exports.js';
import { Reports } from './pages/reports.js';

const NAV: [string, string][] = [['/console/', 'Leads'], ['/console/events', 'Events'], ['/console/reports', 'Reports'], ['/console/alerts', 'Alerts'], ['/console/unmapped', 'Unmapped'], ['/console/exports', 'Exports']];

function Shell() {
  const { path } = useLocation();
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <a class="brand" href="/console/">leadlog</a>
        <nav aria-label="Console">
          {NAV.map(([href, label]) => {
            const active = href === '/console/' ? path === '/console/' || path.startsWith('/console/leads') : path.startsWith(href);
            return <a key={href} href={href} aria-current={active ? 'page' : undefined}>{label}</a>;
          })}
        </nav>
        <button type="button" class="signout" onClick={() => session.signOut()}>Sign out</button>
      </header>
      <Router>
        <Route path="/console/" component={Search} />
        <Route path="/console/index.html" component={Search} />
        <Route path="/console/leads/:id" component={LeadPage} />
        <Route path="/console/events" component={Explorer} />
        <Route path="/console/reports" component={Reports} />
        <Route path="/console/alerts" component={Alerts} />
        <Route path="/console/unmapped" component={Unmapped} />
        <Route path="/console/exports" component={Exports} />
        <Route default component={NotFound} />
      </Router>
    </>
  );
}

function NotFound() {
  return <main id="main" class="state empty"><h1>No such page</h1><p><a href="/console/">Back to lead search</a></p></main>;
}

/** The console: sign-in until a key is in this tab's sessionStorage, then the pages (each URL reopens its view). */
export function App() {
  const [signedIn, setSignedIn] = useState(Boolean(session.key()));
  useEffect(() => session.onChange(() => setSignedIn(Boolean(session.key()))), []);
  return <LocationProvider scope="/console">{signedIn ? <Shell /> : <SignIn />}</LocationProvider>;
}
