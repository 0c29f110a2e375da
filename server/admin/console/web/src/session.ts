import { createContext } from "preact";
import { useContext } from "preact/hooks";

/** Who is signed in, and whether the API lets them write. */
export interface Session {
  caller: string;
  role: string;
  canWrite: boolean;
  signOut: () => void;
}

export const SessionContext = createContext<Session>({ caller: "", role: "", canWrite: false, signOut: () => {} });
export const useSession = () => useContext(SessionContext);

/** The tooltip of a button a viewer cannot use. */
export const viewerNote = "Your role (viewer) can look but not change anything.";

/** Moves to a console route, e.g. "#/hosts". */
export function go(hash: string) {
  location.hash = hash;
}
