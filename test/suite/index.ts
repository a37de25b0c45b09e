// Every case of the kernel and API suite, in one list for vitest and for the browser page.

import { apiCases } from './api.js';
import { conv1dCases } from './conv1d.js';
import { elementwiseCases } from './elementwise.js';
import { gemmCases } from './gemm.js';
import type { SuiteCase } from './harness.js';
import { pool1dCases } from './pool1d.js';
import { trainingCases } from './training.js';

export const allCases: SuiteCase[] = [...elementwiseCases, ...conv1dCases, ...pool1dCases, ...gemmCases, ...trainingCases, ...apiCases];
