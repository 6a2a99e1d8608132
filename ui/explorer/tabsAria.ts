/**
 * GraphiQL 3.8 marks its editor tabs up as an ARIA tab list whose tabs contain their own buttons
 * (the tab's name and its close button): interactive controls nested in an interactive control,
 * which screen readers announce wrongly (WCAG 4.1.2; axe-core rule nested-interactive). Until
 * GraphiQL changes it, the tabs are repaired in the page as GraphiQL renders them: the tab list
 * becomes a labelled group (it also holds the add-tab button, so it cannot be a list), each tab a
 * plain container of its two buttons, and the button of the tab shown says so with aria-current.
 */
const REPAIR_ATTRIBUTES = ['role', 'aria-selected', 'class'];

function repair(root: ParentNode): void {
  for (const el of root.querySelectorAll('.graphiql-tabs[role="tablist"]')) el.setAttribute('role', 'group');
  for (const el of root.querySelectorAll('.graphiql-tab[role="tab"]')) el.setAttribute('role', 'none');
  for (const el of root.querySelectorAll('.graphiql-tab[aria-selected]')) el.removeAttribute('aria-selected');
  for (const button of root.querySelectorAll('.graphiql-tab-button')) {
    const active = button.closest('.graphiql-tab')?.classList.contains('graphiql-tab-active') ?? false;
    if (active && button.getAttribute('aria-current') !== 'true') button.setAttribute('aria-current', 'true');
    if (!active && button.hasAttribute('aria-current')) button.removeAttribute('aria-current');
  }
}

/** Keeps the tabs under `root` repaired for as long as the page lives. */
export function repairTabs(root: HTMLElement): void {
  repair(root);
  // The repair changes attributes only when they are wrong, so it settles after one more pass.
  new MutationObserver(() => repair(root)).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: REPAIR_ATTRIBUTES });
}
