export { CONTROL_PLANE, selectServices } from './services';
