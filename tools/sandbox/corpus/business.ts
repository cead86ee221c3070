/**
 * @module Office guides, IT how-tos, sales and finance documents generated from fixed tables, plus a
 * few documents indexed only in one data-accessor tenant's application.
 */
import { ALL_EMPLOYEES, type DocumentSpec } from './types.js';

const employees = { groups: [ALL_EMPLOYEES] };

const offices: Array<[string, string, string, string, string]> = [
  [
    'Seattle',
    '400 Pine Street, 12th floor',
    'the Westlake light rail station',
    'badge access 24/7; visitors sign in at the 12th floor reception',
    'Pacific',
  ],
  [
    'Austin',
    '600 Congress Avenue, suite 1800',
    'the Congress Avenue bus lines',
    'badge access from 06:00 to 22:00',
    'Central',
  ],
  [
    'Dublin',
    '1 Grand Canal Square',
    'the Grand Canal Dock DART station',
    'badge access from 07:00 to 21:00; weekend access on request',
    'Irish',
  ],
  [
    'Singapore',
    '8 Marina View, level 30',
    'the Downtown MRT station',
    'badge access from 07:00 to 22:00',
    'Singapore',
  ],
  [
    'Sao Paulo',
    'Avenida Paulista 1000, 15o andar',
    'the Trianon-Masp metro station',
    'badge access from 07:00 to 20:00',
    'Brasilia',
  ],
];

const officeGuides: DocumentSpec[] = offices.map(([city, address, transit, access, tz], i) => ({
  slug: `office-guide-${city.toLowerCase().replace(/\s+/g, '-')}`,
  title: `Office Guide: ${city}`,
  source: 'sharepoint',
  department: 'workplace',
  category: 'office guide',
  created: `2025-0${(i % 9) + 1}-11`,
  tags: ['office', 'workplace', city.toLowerCase()],
  acl: employees,
  body: [
    `The ${city} office is at ${address}, a short walk from ${transit}. Office hours follow ${tz} time; ${access}.`,
    `Book desks and meeting rooms in Robin. Team anchor days are Tuesday and Wednesday, so book early for those days. Lockers are available for employees who come in at least twice a week.`,
    `Lunch is catered on anchor days. For facilities issues such as broken equipment or temperature, open a Workplace ticket in the service portal or message #office-${city.toLowerCase().replace(/\s+/g, '-')}.`,
  ],
}));

const itHowTos: Array<[string, string[], string[]]> = [
  [
    'Connecting to the VPN',
    ['vpn', 'remote access'],
    [
      'Install the GlobalProtect client from Self Service and connect to vpn.example.com with your SSO credentials and security key.',
      'The VPN is required for internal tools such as Grafana and the admin consoles when you are not in an office. If the connection drops repeatedly, switch the gateway to the nearest region.',
    ],
  ],
  [
    'Enrolling a Security Key for MFA',
    ['mfa', 'security key', 'yubikey'],
    [
      'Every employee uses a hardware security key as the second factor for single sign-on. Collect a YubiKey from the IT desk or order one through the service portal.',
      'Enroll it at sso.example.com/settings by choosing Add security key and touching the key when it blinks. Enroll a second key as a backup and keep it somewhere safe.',
    ],
  ],
  [
    'Resetting Your Password',
    ['password', 'account', 'sso'],
    [
      'Reset your password at sso.example.com/reset; you will need your security key. Passwords must be at least 14 characters and are checked against known breached passwords.',
      'If you lost your security key as well, call the IT hotline at extension 4357; the help desk verifies your identity by video before resetting your account.',
    ],
  ],
  [
    'Requesting Software',
    ['software', 'licences', 'self service'],
    [
      'Approved software is installed from Self Service without a ticket. For other software, open a Software Request in the service portal with the business reason.',
      'IT checks licensing and Security reviews new vendors. Standard requests are fulfilled within three business days.',
    ],
  ],
  [
    'Setting Up Your Laptop',
    ['laptop', 'setup', 'device'],
    [
      'Company laptops are managed with Jamf (macOS) or Intune (Windows). On first boot, sign in with your SSO account and let the device enroll; this installs the VPN, endpoint protection and Self Service.',
      'Keep the operating system up to date: devices more than 30 days behind on updates lose access to company applications until they are patched.',
    ],
  ],
  [
    'Printing in the Office',
    ['printing', 'office', 'printers'],
    [
      'Printers in every office use secure release: send the job to the Follow-Me queue and badge in at any printer to print.',
      'Color printing is enabled by default; large jobs above 200 pages should go to the print room.',
    ],
  ],
  [
    'Reporting a Lost or Stolen Device',
    ['lost device', 'security', 'laptop'],
    [
      'Report a lost or stolen laptop or phone immediately to the IT hotline or security@example.com. IT locks and wipes the device remotely.',
      'File a police report for stolen devices and attach the reference number to the IT ticket; a replacement is shipped within two business days.',
    ],
  ],
  [
    'Using Slack at Example Corp',
    ['slack', 'communication', 'channels'],
    [
      'Slack is for day-to-day communication; email is for external communication and formal announcements. Public channels are preferred over private ones so that knowledge is shared.',
      'Do not share Confidential or Restricted data in public channels. Messages are retained for two years.',
    ],
  ],
];

const itGuides: DocumentSpec[] = itHowTos.map(([title, tags, body], i) => ({
  slug: `it-${title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/-$/, '')}`,
  title,
  source: 'confluence',
  department: 'it',
  category: 'how-to',
  created: `2025-${String((i % 12) + 1).padStart(2, '0')}-0${(i % 8) + 1}`,
  tags: ['it', ...tags],
  acl: { everyone: true },
  body,
}));

const customers: Array<[string, string, string, string]> = [
  ['Contoso Retail', 'retail', 'reduced checkout failures by 35 percent', 'payments and notifications'],
  [
    'Fabrikam Health',
    'healthcare',
    'cut report generation time from hours to minutes',
    'reporting and audit log',
  ],
  [
    'Tailspin Airlines',
    'travel',
    'served 4 million mobile users during peak season',
    'mobile backend and search',
  ],
  [
    'Woodgrove Bank',
    'financial services',
    'passed a regulatory audit with the audit log exports',
    'audit log and SSO',
  ],
  [
    'Litware Software',
    'software',
    'replaced three internal tools with embedded analytics',
    'reporting and APIs',
  ],
  [
    'Adventure Works',
    'manufacturing',
    'connected 200 factories to a single dashboard',
    'data pipeline and reporting',
  ],
];

const caseStudies: DocumentSpec[] = customers.map(([name, industry, result, products], i) => ({
  slug: `case-study-${name.toLowerCase().replace(/\s+/g, '-')}`,
  title: `Customer Case Study: ${name}`,
  source: 'salesforce',
  department: 'marketing',
  category: 'case study',
  created: `2025-${String(i + 3).padStart(2, '0')}-15`,
  tags: ['case study', 'customers', industry],
  acl: employees,
  body: [
    `${name} is a ${industry} company that adopted Example Corp in a competitive evaluation. Using our ${products} capabilities, it ${result}.`,
    `The deployment took ten weeks with our professional services team. Executive sponsor quotes and logo usage are approved for external use; revenue figures are not.`,
  ],
}));

const sales: DocumentSpec[] = [
  {
    slug: 'sales-playbook-enterprise',
    title: 'Enterprise Sales Playbook',
    source: 'salesforce',
    department: 'sales',
    category: 'playbook',
    created: '2025-09-01',
    tags: ['sales', 'playbook', 'discovery', 'enterprise'],
    acl: { groups: ['sales'] },
    body: [
      'Enterprise deals follow five stages: discovery, technical validation, business case, procurement and close. Exit criteria for each stage are tracked in Salesforce.',
      'In discovery, identify the economic buyer, the pain behind the project and the decision timeline. Involve a solutions engineer before the technical validation stage.',
      'Security questionnaires go to the Trust team through the #trust-requests channel; the standard SOC 2 report is shared under NDA.',
    ],
  },
  {
    slug: 'sales-pricing-guide-2026',
    title: 'Pricing and Packaging Guide 2026',
    source: 'salesforce',
    department: 'sales',
    category: 'pricing',
    created: '2026-01-05',
    tags: ['pricing', 'packaging', 'discounts', 'sales'],
    confidentiality: 'confidential',
    acl: { groups: ['sales', 'managers', 'finance'] },
    body: [
      'List prices for 2026: Team edition $25 per user per month, Business edition $45 per user per month, Enterprise edition starts at $80 per user per month with a 100-seat minimum.',
      'Annual prepayment earns a standard 10 percent discount. Further discounts follow the Deal Desk escalation path.',
    ],
  },
  {
    slug: 'sales-territory-plan-fy26',
    title: 'Sales Territory Plan FY26',
    source: 'salesforce',
    department: 'sales',
    category: 'plan',
    created: '2025-12-10',
    tags: ['territories', 'sales', 'planning'],
    acl: { groups: ['sales', 'managers'] },
    body: [
      'North America is split into six territories by state; EMEA into four by country group; APAC is one territory run from Singapore.',
      'Named strategic accounts are assigned regardless of territory. Territory changes take effect on February 1 and commissions on in-flight deals follow the account owner at signing.',
    ],
  },
];

const finance: DocumentSpec[] = [
  {
    slug: 'fin-quarterly-close-checklist',
    title: 'Quarterly Close Checklist',
    source: 'sharepoint',
    department: 'finance',
    category: 'checklist',
    created: '2025-03-25',
    tags: ['quarterly close', 'accounting', 'finance'],
    acl: { groups: ['finance'] },
    body: [
      'Day 1: cut off accounts payable and accrue unbilled expenses. Day 2: reconcile bank accounts and corporate cards. Day 3: revenue recognition review and deferred revenue roll-forward.',
      'Day 4: intercompany eliminations and consolidation. Day 5: flux analysis against the prior quarter, sign-off by the Controller, and the package for the Audit Committee.',
    ],
  },
  {
    slug: 'fin-vendor-payment-runbook',
    title: 'Vendor Payment Run Procedure',
    source: 'sharepoint',
    department: 'finance',
    category: 'procedure',
    created: '2025-05-06',
    tags: ['accounts payable', 'vendors', 'payments', 'finance'],
    acl: { groups: ['finance'] },
    body: [
      'Vendor payments run every Tuesday. Invoices must be approved in Coupa and matched to a purchase order and receipt by Monday 17:00 to be included.',
      'Changes to vendor bank details require a call-back to a known phone number on file; never act on bank detail changes received by email alone.',
    ],
  },
  {
    slug: 'fin-revenue-forecast-fy26',
    title: 'FY26 Revenue Forecast (Q3 update)',
    source: 'sharepoint',
    department: 'finance',
    category: 'forecast',
    created: '2026-08-04',
    tags: ['forecast', 'revenue', 'confidential', 'finance'],
    confidentiality: 'confidential',
    acl: { groups: ['finance', 'managers'] },
    body: [
      'The FY26 revenue forecast is $182 million, up from $178 million at the start of the year, with net revenue retention at 118 percent.',
      'Risks: two large renewals in EMEA and slower expansion in the SMB segment. Upside: the Enterprise edition pipeline is 20 percent above plan.',
    ],
  },
  {
    slug: 'fin-expense-approval-matrix',
    title: 'Expense Approval Matrix',
    source: 'sharepoint',
    department: 'finance',
    category: 'policy',
    created: '2025-02-18',
    tags: ['approvals', 'expenses', 'delegation of authority'],
    acl: { groups: ['managers', 'finance'] },
    body: [
      'Managers approve operating expenses up to $10,000, directors up to $50,000, VPs up to $250,000 and the CFO above that. Capital expenses above $100,000 also need CFO approval.',
      "Approval authority cannot be delegated to someone at a lower level. During absences, the approver's manager approves.",
    ],
  },
];

// Indexed only in one data-accessor tenant's application (each tenant is a different customer).
const ACME_APP = 'c0ffee00-0000-4000-8000-00000000000a';
const GLOBEX_APP = 'c0ffee00-0000-4000-8000-00000000000b';

const tenantOnly: DocumentSpec[] = [
  {
    slug: 'acme-rocket-sled-safety-procedure',
    title: 'Acme Rocket Sled Safety Procedure',
    source: 's3',
    department: 'operations',
    category: 'procedure',
    created: '2025-06-01',
    tags: ['acme', 'safety', 'operations'],
    acl: { groups: [ALL_EMPLOYEES] },
    applications: [ACME_APP],
    body: [
      'Acme rocket sled tests require two certified operators, a cleared test track and a safety briefing logged in the Acme test register.',
      'Abort the test if wind speed exceeds 25 km/h or if any canyon road crossing is occupied.',
    ],
  },
  {
    slug: 'acme-quarterly-business-review',
    title: 'Acme Quarterly Business Review Q2',
    source: 's3',
    department: 'finance',
    category: 'report',
    created: '2026-07-08',
    tags: ['acme', 'business review'],
    acl: { groups: ['managers'] },
    applications: [ACME_APP],
    body: [
      'Acme shipped 1.2 million anvils in Q2, 9 percent above plan, and opened a second warehouse in Phoenix.',
      'Returns of portable holes fell to 2 percent after the packaging change. The giant magnet line remains on hold pending the safety review.',
    ],
  },
  {
    slug: 'globex-hammock-district-site-guide',
    title: 'Globex Hammock District Site Guide',
    source: 's3',
    department: 'workplace',
    category: 'office guide',
    created: '2025-04-14',
    tags: ['globex', 'office', 'workplace'],
    acl: { groups: [ALL_EMPLOYEES] },
    applications: [GLOBEX_APP],
    body: [
      'The Globex campus in Cypress Creek offers on-site childcare, a hammock district for focused work and free shuttles from the town centre.',
      'Visitors must be escorted at all times in the research wing.',
    ],
  },
  {
    slug: 'globex-research-travel-policy',
    title: 'Globex Research Division Travel Policy',
    source: 's3',
    department: 'finance',
    category: 'policy',
    created: '2025-09-09',
    tags: ['globex', 'travel', 'reimbursement'],
    acl: { groups: [ALL_EMPLOYEES] },
    applications: [GLOBEX_APP],
    body: [
      'Globex research staff may travel business class on any flight over four hours. The travel reimbursement limit for lodging is $300 per night.',
    ],
  },
];

export const business: DocumentSpec[] = [
  ...officeGuides,
  ...itGuides,
  ...caseStudies,
  ...sales,
  ...finance,
  ...tenantOnly,
];
